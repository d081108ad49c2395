"""Start a real Kubernetes control plane on loopback: etcd, kube-apiserver, the controller
manager, the scheduler and the node stand-in.

Use :class:`ControlPlane` as a context manager in tests and tools::

    with ControlPlane(binaries, Path("/tmp/cluster")) as cluster:
        client = cluster.api_client()
        ...

``start()`` returns once the API server is ready, the controller manager and scheduler answer
their health checks, and the node is Ready and schedulable. ``stop()`` ends every process group
(SIGTERM, then SIGKILL); the processes also die with the Python process that started them.
"""

from __future__ import annotations

import atexit
import json
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from kubedrift_dev.devcluster import components
from kubedrift_dev.devcluster.certs import generate_pki
from kubedrift_dev.devcluster.kubeconfig import admin_kubeconfig, write_kubeconfig
from kubedrift_dev.devcluster.network import free_ports, https_ok
from kubedrift_dev.devcluster.processes import ManagedProcess
from kubedrift_dev.devcluster.ranges import AddressRanges, RangeReservation
from kubedrift_dev.devcluster.realnode.addresses import NodeNetwork
from kubedrift_dev.devcluster.realnode.artifacts import locate_node_binaries, locate_node_images
from kubedrift_dev.devcluster.realnode.node import RealNode
from kubedrift_dev.devcluster.realnode.node_config import NodeLayout

DEFAULT_NODE = "kubedrift-node"
#: ``standin``: Pods run as local processes (:mod:`.node`); ``real``: containerd, kubelet,
#: kube-proxy and CoreDNS (:mod:`.realnode`).
NODE_KINDS = ("standin", "real")


class ControlPlaneError(RuntimeError):
    """A component failed to start; the message includes the tail of its log."""


class ControlPlane:
    """A local control plane whose files (certificates, etcd data, logs, kubeconfig) live in
    ``work_dir``. Pods bound to its single node run as local processes. Pod and Service addresses
    come from a loopback range reserved machine-wide (:mod:`.ranges`): number ``range_index``,
    or the first free one. With ``node="real"`` the node is a real kubelet on containerd instead
    (:mod:`.realnode`), and Pods and Services get addresses on a bridge of the cluster's own.
    """

    def __init__(
        self,
        binaries: Path,
        work_dir: Path,
        *,
        node_name: str = DEFAULT_NODE,
        range_index: int | None = None,
        startup_timeout: float = 180.0,
        node: str = "standin",
    ) -> None:
        if node not in NODE_KINDS:
            raise ValueError(f"node must be one of {NODE_KINDS}, not {node!r}")
        self.node = node
        self._real_node: RealNode | None = None
        self.binaries = binaries
        self.work_dir = work_dir.resolve()
        self.node_name = node_name
        self.range_index = range_index
        self.startup_timeout = startup_timeout
        self._reservation = RangeReservation()
        self._ranges: AddressRanges | None = None
        self.processes: list[ManagedProcess] = []
        self._layout: components.Layout | None = None

    @property
    def layout(self) -> components.Layout:
        if self._layout is None:
            raise ControlPlaneError("the control plane has not been started")
        return self._layout

    @property
    def ranges(self) -> AddressRanges:
        """The cluster's Pod and Service address ranges."""
        if self._ranges is None:
            raise ControlPlaneError("the control plane has not been started")
        return self._ranges

    @property
    def kubeconfig(self) -> Path:
        return self.work_dir / "kubeconfig"

    @property
    def pod_cidr(self) -> str:
        if self._real_node is not None:
            return self._real_node.network.pod_cidr
        return self.ranges.pod_cidr

    @property
    def service_cidr(self) -> str:
        if self._real_node is not None:
            return self._real_node.network.service_cidr
        return self.ranges.service_cidr

    @property
    def server(self) -> str:
        return self.layout.server

    @property
    def etcd_url(self) -> str:
        """etcd's client URL (plain HTTP on loopback; see :mod:`.etcd` for tests that need it)."""
        return f"http://127.0.0.1:{self.layout.ports.etcd_client}"

    @property
    def logs_dir(self) -> Path:
        """Component logs (``<component>.log``)."""
        return self.work_dir / "logs"

    @property
    def node_dir(self) -> Path:
        """The node stand-in's files: ``pods/<namespace>_<pod>_<uid>/<container>.log``, volumes."""
        return self.work_dir / "node"

    def pids(self) -> dict[str, int]:
        return {p.name: p.pid for p in self.processes if p.pid is not None}

    def start(self) -> None:
        """Start every component and wait until the cluster can run Pods."""
        atexit.register(self.stop)
        # A real node's binaries and images may have to be built first: before the deadline.
        real_artifacts = (
            (locate_node_binaries(), locate_node_images()) if self.node == "real" else None
        )
        deadline = time.monotonic() + self.startup_timeout
        try:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            ranges = self._ranges = self._reservation.reserve(self.range_index)
            host, service_cidr, extra_ips = "127.0.0.1", ranges.service_cidr, []
            if real_artifacts is not None:
                network = NodeNetwork(ranges.index)
                real = self._real_node = RealNode(*real_artifacts, network, self.node_dir)
                real.prepare()
                host, service_cidr = network.gateway, network.service_cidr
                extra_ips = [network.gateway, network.kubernetes_service_ip]
            pki = generate_pki(self.work_dir / "pki", extra_ips)
            ports = components.Ports(*free_ports(6))
            layout = self._layout = components.Layout(
                self.binaries, self.work_dir, pki, ports, service_cidr, host
            )
            write_kubeconfig(
                self.kubeconfig,
                admin_kubeconfig(layout.server, pki.ca_cert, pki.admin_cert, pki.admin_key),
            )
            self._launch("etcd", components.etcd_command(layout))
            self._launch("kube-apiserver", components.apiserver_command(layout))
            self._wait_for("the API server's /readyz", deadline, self._apiserver_ready)
            self._launch("kube-controller-manager", components.controller_manager_command(layout))
            self._launch("kube-scheduler", components.scheduler_command(layout))
            if self._real_node is not None:
                self._start_real_node(self._real_node, deadline)
            else:
                self._launch("node", self._node_command(), death_signal="TERM")
            self._wait_for("kube-controller-manager /healthz", deadline, lambda: https_ok(
                f"https://127.0.0.1:{ports.controller_manager}/healthz"))  # fmt: skip
            self._wait_for("kube-scheduler /healthz", deadline, lambda: https_ok(
                f"https://127.0.0.1:{ports.scheduler}/healthz"))  # fmt: skip
            self._wait_for(f"node {self.node_name} Ready and schedulable", deadline,
                           self._node_schedulable)  # fmt: skip
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every component, newest first. Safe to call more than once."""
        while self.processes:
            self.processes.pop().stop()
        if self._real_node is not None:
            self._real_node.teardown()
        self._reservation.release()
        atexit.unregister(self.stop)

    def restart_apiserver(self, downtime: float = 0.0, extra_flags: Sequence[str] = ()) -> None:
        """Stop kube-apiserver, wait ``downtime`` seconds, start it again (same port) and wait
        until it is ready: for tests of clients that must ride out a restart. The new process
        runs with the usual flags plus ``extra_flags`` (e.g. ``--watch-cache=false``; a later
        restart without them restores the usual set)."""
        (process,) = (p for p in self.processes if p.name == "kube-apiserver")
        process.stop()
        time.sleep(downtime)
        process.argv = [*components.apiserver_command(self.layout), *extra_flags]
        process.start()
        deadline = time.monotonic() + self.startup_timeout
        self._wait_for("the restarted API server's /readyz", deadline, self._apiserver_ready)

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def api_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` authenticated as the cluster admin."""
        from kubernetes import config  # noqa: PLC0415 - heavy import, only when asked for

        return config.new_client_from_config(config_file=str(self.kubeconfig))  # type: ignore[no-untyped-call]

    def get(self, path: str) -> dict[str, Any] | None:
        """GET an API path as the admin; None when the server does not answer 200."""
        pki = self.layout.pki
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        context.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
        try:
            with urllib.request.urlopen(self.server + path, timeout=5, context=context) as resp:
                document: dict[str, Any] = json.load(resp)
                return document
        except OSError:
            return None

    def _node_command(self) -> list[str]:
        pki = self.layout.pki
        return [
            sys.executable, "-m", "kubedrift_dev.devcluster.node",
            "--server", self.server, "--ca", str(pki.ca_cert),
            "--cert", str(pki.admin_cert), "--key", str(pki.admin_key),
            "--name", self.node_name, "--pod-cidr", self.ranges.pod_cidr,
            "--work-dir", str(self.node_dir),
            "--log-port", str(self.layout.ports.node),
            "--serving-cert", str(pki.node_cert), "--serving-key", str(pki.node_key),
        ]  # fmt: skip

    def _start_real_node(self, real: RealNode, deadline: float) -> None:
        pki = self.layout.pki
        kubelet_port, *ports = free_ports(6)
        node_layout = NodeLayout(
            real.binaries, self.node_dir, self.kubeconfig, pki.ca_cert, pki.node_cert,
            pki.node_key, real.runtime.socket, self.node_name, kubelet_port, *ports,
        )  # fmt: skip
        real.start(
            node_layout,
            lambda name, argv: self._launch(name, argv, death_signal="TERM"),
            self._create,
            deadline,
        )

    def _create(self, path: str, document: dict[str, Any]) -> None:
        """POST ``document`` to an API path as the admin; an existing object is left as is."""
        pki = self.layout.pki
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        context.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
        request = urllib.request.Request(
            self.server + path,
            data=json.dumps(document).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10, context=context):
                return
        except urllib.error.HTTPError as error:
            if error.code != 409:
                raise ControlPlaneError(
                    f"POST {path} answered {error.code}: {error.read()[:500]!r}"
                ) from error

    def _launch(self, name: str, argv: list[str], death_signal: str = "KILL") -> None:
        process = ManagedProcess(
            name, argv, self.logs_dir / f"{name}.log", death_signal=death_signal
        )
        process.start()
        self.processes.append(process)

    def _apiserver_ready(self) -> bool:
        pki = self.layout.pki
        return https_ok(
            f"{self.server}/readyz",
            ca_cert=pki.ca_cert,
            client_cert=pki.admin_cert,
            client_key=pki.admin_key,
        )

    def _node_schedulable(self) -> bool:
        node = self.get(f"/api/v1/nodes/{self.node_name}")
        if node is None:
            return False
        conditions = node.get("status", {}).get("conditions", [])
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        taints = node.get("spec", {}).get("taints") or []
        return ready and not any(t.get("effect") == "NoSchedule" for t in taints)

    def _wait_for(self, what: str, deadline: float, check: Callable[[], bool]) -> None:
        while True:
            for process in self.processes:
                code = process.exit_code()
                if code is not None:
                    raise ControlPlaneError(
                        f"{process.name} exited with code {code} while waiting for {what}; "
                        f"log {process.log_path}:\n{process.log_tail()}"
                    )
            if check():
                return
            if time.monotonic() > deadline:
                tails = "\n".join(f"--- {p.name}\n{p.log_tail(15)}" for p in self.processes)
                raise ControlPlaneError(f"timed out waiting for {what}; logs in "
                                        f"{self.logs_dir}\n{tails}")  # fmt: skip
            time.sleep(0.2)
