"""Drive one container through its runs: start it in its sandbox, notice when it ends, restart
it by the Pod's policy with back-off, and run its probes while it runs."""

from __future__ import annotations

import logging
import math
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kubedrift_dev.devcluster.node.containers import ContainerProcess, backoff_seconds, exit_status
from kubedrift_dev.devcluster.node.env import EnvError, PodContext, expand, resolve_env
from kubedrift_dev.devcluster.node.mountpoints import MountPoints
from kubedrift_dev.devcluster.node.podstatus import ContainerRecord, Terminated, should_restart
from kubedrift_dev.devcluster.node.probes import ProbeTracker, run_probe
from kubedrift_dev.devcluster.node.rest import ApiError
from kubedrift_dev.devcluster.node.sandbox import TERMINATION_LOG, sandboxed_argv
from kubedrift_dev.devcluster.node.services import hosts_file, service_links
from kubedrift_dev.devcluster.node.volumes import Mount, Sources, VolumeError, container_mounts

log = logging.getLogger(__name__)

#: How soon a container whose configuration could not be built (missing ConfigMap...) is retried.
CONFIG_RETRY = 2.0


class NodeSources(Sources, Protocol):
    """What containers are built from: ConfigMaps, Secrets, tokens, and the Services of a
    namespace."""

    def services(self, namespace: str) -> list[dict[str, Any]]: ...


@dataclass
class Sandbox:
    """What a Pod's containers share: its directory, address, volumes and base environment."""

    pod_dir: Path
    pod_ip: str
    host_paths: dict[str, str]
    base_env: dict[str, str]
    mountpoints: MountPoints
    sources: NodeSources
    host_ip: str = "127.0.0.1"

    @property
    def volumes_dir(self) -> Path:
        return self.pod_dir / "volumes"


@dataclass
class ContainerRunner:
    """One container of a Pod (``spec`` is its entry in the Pod spec) and its current run."""

    spec: Mapping[str, Any]
    restart_policy: str
    is_init: bool = False
    record: ContainerRecord = field(init=False)
    process: ContainerProcess | None = field(default=None, init=False)
    restart_at: float | None = field(default=None, init=False)
    runs: int = field(default=0, init=False)
    env: dict[str, str] = field(default_factory=dict, init=False)
    _probes: dict[str, ProbeTracker] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.record = ContainerRecord(self.spec["name"], self.spec.get("image", ""))

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    @property
    def done(self) -> bool:
        """Ended and will not run again."""
        return self.record.state == "terminated"

    @property
    def succeeded(self) -> bool:
        terminated = self.record.terminated
        return self.done and terminated is not None and terminated.exit_code == 0

    def log_path(self, sandbox: Sandbox) -> Path:
        return sandbox.pod_dir / f"{self.name}.log"

    def tick(self, pod: Mapping[str, Any], sandbox: Sandbox, now: float) -> None:
        """Advance by one step: reap an ended run, probe a running one, or start when due."""
        if self.process is not None:
            code = self.process.poll()
            if code is None:
                self._probe(sandbox, now)
            else:
                self.ended(code, now)
            return
        if self.done or (self.restart_at is not None and now < self.restart_at):
            return
        self._start(pod, sandbox, now)

    def signal(self, sig: signal.Signals) -> None:
        if self.process is not None:
            self.process.signal(sig)

    def ended(self, returncode: int, now: float, *, stopping: bool = False) -> None:
        """Record that the current run ended with ``returncode``; schedule a restart if due."""
        process = self.process
        if process is None:
            return
        exit_code, sig = exit_status(returncode)
        log.info("container %s exited with code %d", self.name, exit_code)
        policy = self.spec.get("terminationMessagePolicy", "File")
        terminated = Terminated(
            exit_code=exit_code,
            started_at=self.record.started_at or now,
            finished_at=now,
            message=process.termination_message(policy, exit_code),
            signal=sig,
            container_id=self.record.container_id,
        )
        self.process = None
        self.record.started = False
        if self.is_init:
            restart = exit_code != 0 and self.restart_policy != "Never"
        else:
            restart = should_restart(self.restart_policy, exit_code)
        self.record.ready = self.is_init and exit_code == 0
        if restart and not stopping:
            delay = backoff_seconds(self.runs - 1)
            self.restart_at = now + delay
            self.record.state, self.record.reason = "waiting", "CrashLoopBackOff"
            self.record.message = f"back-off {delay:g}s restarting failed container={self.name}"
            self.record.last_terminated, self.record.terminated = terminated, None
        else:
            self.record.state, self.record.terminated = "terminated", terminated

    def _start(self, pod: Mapping[str, Any], sandbox: Sandbox, now: float) -> None:
        scratch = sandbox.pod_dir / "containers" / self.name
        scratch.mkdir(parents=True, exist_ok=True)
        metadata = pod["metadata"]
        base = {**sandbox.base_env, "HOME": str(scratch), "POD_IP": sandbox.pod_ip}
        try:
            services = sandbox.sources.services(metadata["namespace"])
            if pod["spec"].get("enableServiceLinks", True):
                base = {**service_links(services), **base}
            env = resolve_env(self.spec, PodContext(pod, sandbox.pod_ip, sandbox.host_ip),
                              sandbox.sources, base)  # fmt: skip
        except (EnvError, ApiError, OSError) as error:  # missing objects, or the API unreachable
            self._wait("CreateContainerConfigError", str(error), now + CONFIG_RETRY)
            return
        command = [expand(part, env) for part in self.spec.get("command") or []]
        command += [expand(part, env) for part in self.spec.get("args") or []]
        if not command:
            self._wait("CreateContainerError", "the kubedrift node stand-in ignores images: "
                       "the container needs a command", math.inf)  # fmt: skip
            return
        try:
            mounts = container_mounts(self.spec, sandbox.volumes_dir, sandbox.host_paths)
        except VolumeError as error:
            self._wait("CreateContainerError", str(error), math.inf)
            return
        termination_file = sandbox.pod_dir / "termination" / self.name
        termination_path = self.spec.get("terminationMessagePath") or TERMINATION_LOG
        mounts.append(Mount(termination_file, termination_path, is_file=True))
        hosts = sandbox.pod_dir / "etc-hosts" / self.name
        hosts.parent.mkdir(parents=True, exist_ok=True)
        hostname = pod["spec"].get("hostname") or metadata["name"]
        hosts.write_text(hosts_file(sandbox.pod_ip, hostname, metadata["namespace"], services))
        mounts.append(Mount(hosts, "/etc/hosts", is_file=True))
        working_dir = self.spec.get("workingDir") or str(scratch)
        try:
            for mount in mounts:
                sandbox.mountpoints.ensure(mount.target, is_file=mount.is_file)
            self.process = ContainerProcess(
                sandboxed_argv(mounts, working_dir, command), env, self.log_path(sandbox),
                termination_file,
            )  # fmt: skip
        except OSError as error:
            self._wait("RunContainerError", str(error), now + CONFIG_RETRY)
            return
        self.runs += 1
        log.info("container %s started (run %d, pid %d): %s ...", self.name, self.runs,
                 self.process.pid, command[0])  # fmt: skip
        self.env = env
        uid = pod["metadata"]["uid"]
        self.record.state, self.record.reason, self.record.message = "running", "", ""
        self.record.started_at = now
        self.record.restart_count = self.runs - 1
        self.record.container_id = f"kubedrift://{uid[:8]}-{self.name}-{self.runs}"
        self._probes = {
            kind: ProbeTracker(self.spec[f"{kind}Probe"], now, initial=kind == "liveness")
            for kind in ("startup", "liveness", "readiness")
            if self.spec.get(f"{kind}Probe") and not self.is_init
        }
        self.record.started = "startup" not in self._probes
        self.record.ready = self.record.started and "readiness" not in self._probes

    def _wait(self, reason: str, message: str, retry_at: float) -> None:
        self.record.state, self.record.reason, self.record.message = "waiting", reason, message
        self.restart_at = retry_at

    def _probe(self, sandbox: Sandbox, now: float) -> None:
        if not self._probes or self.process is None:
            return
        prefix = ["nsenter", "-t", str(self.process.pid), "-m", "--"]

        def check(kind: str) -> ProbeTracker:
            tracker = self._probes[kind]
            if tracker.due(now):
                ok = run_probe(tracker.probe, self.spec, sandbox.pod_ip, prefix, self.env)
                tracker.record(ok, now)
            return tracker

        if "startup" in self._probes and not self.record.started:
            startup = check("startup")
            if startup.passing:
                self.record.started = True
                self.record.ready = "readiness" not in self._probes
            elif startup.failed_out:
                self.signal(signal.SIGKILL)
            return
        if "liveness" in self._probes and check("liveness").failed_out:
            self.signal(signal.SIGKILL)
            return
        if "readiness" in self._probes:
            self.record.ready = check("readiness").passing
