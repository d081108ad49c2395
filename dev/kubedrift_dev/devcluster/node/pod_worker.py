"""One thread per Pod: prepare its sandbox, run its init containers in order and then its
containers, publish its status, and on deletion stop its processes and remove it."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubedrift_dev.devcluster.node.container_lifecycle import ContainerRunner, Sandbox
from kubedrift_dev.devcluster.node.env import PodContext
from kubedrift_dev.devcluster.node.mountpoints import MountPoints
from kubedrift_dev.devcluster.node.pod_api import PodApi
from kubedrift_dev.devcluster.node.podips import AddressPool
from kubedrift_dev.devcluster.node.podstatus import build_status
from kubedrift_dev.devcluster.node.rest import ApiError
from kubedrift_dev.devcluster.node.sandbox import write_volume
from kubedrift_dev.devcluster.node.volumes import VolumeError, plan_volume

log = logging.getLogger(__name__)

TICK = 0.25
IDLE_TICK = 5.0
#: How long processes get after SIGTERM when the node itself stops or a Pod vanishes.
SHUTDOWN_GRACE = 2.0


@dataclass
class NodeContext:
    """What every Pod worker of one node shares."""

    api: PodApi
    pool: AddressPool
    mountpoints: MountPoints
    base_env: dict[str, str]
    pods_dir: Path
    host_ip: str = "127.0.0.1"


class PodWorker(threading.Thread):
    """Runs one Pod. Feed it every newer version of the Pod with :meth:`update`; call
    :meth:`vanish` when the Pod is gone from the API and :meth:`shutdown` when the node stops."""

    def __init__(self, pod: Mapping[str, Any], node: NodeContext) -> None:
        metadata = pod["metadata"]
        super().__init__(name=f"pod-{metadata['namespace']}/{metadata['name']}", daemon=True)
        self.node = node
        self.uid: str = metadata["uid"]
        self.pod_dir = node.pods_dir / f"{metadata['namespace']}_{metadata['name']}_{self.uid[:8]}"
        self._pod: Mapping[str, Any] = pod
        self._wake = threading.Event()
        self._gone = False
        self._stopping_node = False
        spec = pod["spec"]
        policy = spec.get("restartPolicy", "Always")
        self.init_runners = [
            ContainerRunner(c, policy, is_init=True) for c in spec.get("initContainers") or []
        ]
        self.runners = [ContainerRunner(c, policy) for c in spec["containers"]]
        initial = "PodInitializing" if self.init_runners else "ContainerCreating"
        for runner in self.runners:
            runner.record.reason = initial
        self._published: dict[str, Any] | None = None
        self._sandbox: Sandbox | None = None
        self._start_time = time.time()

    def update(self, pod: Mapping[str, Any]) -> None:
        self._pod = pod
        self._wake.set()

    def vanish(self) -> None:
        self._gone = True
        self._wake.set()

    def shutdown(self) -> None:
        self._stopping_node = True
        self._wake.set()

    def container_running(self, name: str) -> bool:
        """Whether a run of container ``name`` is in progress (``kubectl logs -f`` follows it)."""
        runners = (*self.init_runners, *self.runners)
        return self.is_alive() and any(r.name == name and r.process is not None for r in runners)

    @property
    def _deleting(self) -> bool:
        return bool(self._pod["metadata"].get("deletionTimestamp"))

    @property
    def _over(self) -> bool:
        return self._gone or self._stopping_node

    def run(self) -> None:
        try:
            self._lifecycle()
        except Exception:  # a bug or an unexpected API answer: keep the node alive, log it
            log.exception("pod worker %s failed", self.name)
        finally:
            self._stop_processes(SHUTDOWN_GRACE)
            self.node.pool.release(self.uid)

    def _lifecycle(self) -> None:
        if self._pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            self._await_deletion()  # finished before this node saw it: only the final delete
            return
        if self._pod["spec"].get("hostNetwork"):
            pod_ip = self.node.host_ip
        else:
            pod_ip = self.node.pool.allocate(self.uid)
        self._sandbox = Sandbox(
            pod_dir=self.pod_dir,
            pod_ip=pod_ip,
            host_paths={v["name"]: v["hostPath"]["path"]
                        for v in self._pod["spec"].get("volumes") or [] if "hostPath" in v},
            base_env={**self.node.base_env, "HOSTNAME": self._pod["metadata"]["name"]},
            mountpoints=self.node.mountpoints,
            sources=self.node.api,
            host_ip=self.node.host_ip,
        )  # fmt: skip
        self._publish(sandbox_ready=False)
        if not self._prepare_volumes():
            return
        while not self._over:
            if self._deleting:
                self._terminate()
                return
            self._step(time.time())
            finished = self._publish() in ("Succeeded", "Failed")
            self._wake.wait(IDLE_TICK if finished else TICK)
            self._wake.clear()

    def _prepare_volumes(self) -> bool:
        sandbox = self._sandbox
        assert sandbox is not None
        context = PodContext(self._pod, sandbox.pod_ip, sandbox.host_ip)
        while not self._over:
            if self._deleting:
                self._terminate()
                return False
            try:
                for volume in self._pod["spec"].get("volumes") or []:
                    content = plan_volume(volume, context, self.node.api)
                    if content.kind != "hostPath":
                        write_volume(content, sandbox.volumes_dir / content.name)
                return True
            except (VolumeError, ApiError, OSError) as error:
                for runner in (*self.init_runners, *self.runners):
                    runner.record.message = f"preparing volumes: {error}"
                self._publish(sandbox_ready=False)
                self._wake.wait(2.0)
                self._wake.clear()
        return False

    def _step(self, now: float) -> None:
        sandbox = self._sandbox
        assert sandbox is not None
        for runner in self.init_runners:
            if runner.succeeded:
                continue
            if not runner.done:
                runner.tick(self._pod, sandbox, now)
            if not runner.succeeded:
                return
        for runner in self.runners:
            runner.tick(self._pod, sandbox, now)

    def _terminate(self) -> None:
        """Graceful deletion: SIGTERM, wait the grace period, SIGKILL, report, delete for good."""
        metadata, spec = self._pod["metadata"], self._pod["spec"]
        grace = metadata.get("deletionGracePeriodSeconds")
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", 30)
        self._stop_processes(float(grace))
        if not self._gone:
            self._publish(stopping=True)
            self._delete_now()
        log.info("stopped and removed")

    def _await_deletion(self) -> None:
        while not self._over:
            if self._deleting:
                self._delete_now()
                return
            self._wake.wait(IDLE_TICK)
            self._wake.clear()

    def _delete_now(self) -> None:
        """The final delete, retried until it goes through (or the Pod or node is gone)."""
        while not self._over:
            try:
                self.node.api.delete_now(self._pod)
                return
            except (ApiError, OSError) as error:
                log.warning("final delete failed (%s); retrying", error)
                self._wake.wait(1.0)
                self._wake.clear()

    def _stop_processes(self, grace: float) -> None:
        running = [r for r in (*self.init_runners, *self.runners) if r.process is not None]
        for runner in running:
            runner.record.ready = False
            runner.signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while running and time.monotonic() < deadline and not self._gone:
            running = [r for r in running if not self._reaped(r)]
            time.sleep(0.05)
        for runner in running:
            runner.signal(signal.SIGKILL)
            if runner.process is not None:
                runner.process.wait(5.0)
            self._reaped(runner)

    def _reaped(self, runner: ContainerRunner) -> bool:
        process = runner.process
        if process is None:
            return True
        code = process.poll()
        if code is None:
            return False
        runner.ended(code, time.time(), stopping=True)
        return True

    def _publish(self, *, sandbox_ready: bool = True, stopping: bool = False) -> str:
        """Patch the status if it changed; returns the phase."""
        sandbox = self._sandbox
        assert sandbox is not None
        pod = dict(self._pod)
        if self._published is not None:
            pod["status"] = {**pod.get("status", {}),
                             "conditions": self._published["conditions"]}  # fmt: skip
        status = build_status(
            pod, [r.record for r in self.init_runners], [r.record for r in self.runners],
            pod_ip=sandbox.pod_ip, host_ip=sandbox.host_ip, start_time=self._start_time,
            now=time.time(), sandbox_ready=sandbox_ready, stopping=stopping,
        )  # fmt: skip
        phase: str = status["phase"]
        if status == self._published:
            return phase
        try:
            self.node.api.patch_status(self._pod, status)
            self._published = status
        except ApiError as error:
            if error.status == 404:
                self._gone = True
            else:
                log.warning("status patch for %s failed: %s", self.name, error)
        except OSError as error:
            log.warning("status patch for %s failed: %s", self.name, error)
        return phase
