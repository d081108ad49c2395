"""Bring a real node up next to the control plane, and take it down without leaving anything.

:class:`RealNode` is driven by :class:`~kubedrift_dev.devcluster.launcher.ControlPlane`:
``prepare()`` before the API server starts (it listens on the bridge address, which must exist),
``start()`` once the API server is ready (containerd, the images, kubelet, kube-proxy, CoreDNS),
``teardown()`` after every process has been stopped.
"""

from __future__ import annotations

import fcntl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from kubedrift_dev.devcluster.realnode import clusterdns
from kubedrift_dev.devcluster.realnode.addresses import NodeNetwork
from kubedrift_dev.devcluster.realnode.artifacts import NodeImages
from kubedrift_dev.devcluster.realnode.hostsetup import HostSetup
from kubedrift_dev.devcluster.realnode.node_config import (
    NodeLayout,
    kube_proxy_command,
    kubelet_command,
    write_node_config,
)
from kubedrift_dev.devcluster.realnode.runtime_config import RuntimeLayout, write_runtime_config

LOCK_FILE = Path("/run/kubedrift/realnode.lock")

Launch = Callable[[str, list[str]], None]
Create = Callable[[str, dict[str, Any]], None]


class RealNodeError(RuntimeError):
    """The real node could not be set up."""


class RealNode:
    """One real node: ``binaries`` holds kubelet, kube-proxy and coredns; ``directory`` holds
    everything the node writes."""

    def __init__(
        self, binaries: Path, images: NodeImages, network: NodeNetwork, directory: Path
    ) -> None:
        self.binaries = binaries
        self.images = images
        self.network = network
        self.directory = directory
        self.runtime = RuntimeLayout(directory / "containerd")
        self._host = HostSetup(network, directory)
        self._lock: IO[str] | None = None

    def prepare(self) -> None:
        """Take the machine-wide real-node lock and set up the host's network."""
        LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
        handle = LOCK_FILE.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            handle.close()
            raise RealNodeError(
                "another real node runs on this machine (kube-proxy owns the host's iptables "
                f"chains, so there can be only one); lock {LOCK_FILE}"
            ) from error
        self._lock = handle
        self.directory.mkdir(parents=True, exist_ok=True)
        self._host.apply()

    def start(self, layout: NodeLayout, launch: Launch, create: Create, deadline: float) -> None:
        """Start containerd and import the images, then the kubelet, kube-proxy and CoreDNS."""
        write_runtime_config(self.runtime, self.network, self.images.pause)
        launch("containerd", ["containerd", "--config", str(self.runtime.config)])
        self._wait_for_containerd(deadline)
        for archive in self.images.archives:
            self._ctr("images", "import", str(archive))
        write_node_config(layout, self.network)
        launch("kubelet", kubelet_command(layout, self.network))
        launch("kube-proxy", kube_proxy_command(layout))
        create("/api/v1/namespaces/kube-system/services", clusterdns.dns_service(self.network))
        create(
            "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices",
            clusterdns.dns_endpoint_slice(self.network),
        )
        corefile_path = self.directory / "Corefile"
        corefile_path.write_text(
            clusterdns.corefile(
                self.network, layout.kubeconfig, layout.dns_health_port, layout.dns_ready_port
            )
        )
        launch("coredns", clusterdns.coredns_command(self.binaries, corefile_path))

    def teardown(self) -> None:
        """Undo everything (after the node's processes were stopped); safe to repeat."""
        if (self.binaries / "kube-proxy").exists():
            subprocess.run(
                [str(self.binaries / "kube-proxy"), "--cleanup"],
                capture_output=True,
                check=False,
            )
        self._host.undo()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _ctr(self, *args: str) -> str:
        argv = ["ctr", "--address", str(self.runtime.socket), "--namespace", "k8s.io", *args]
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RealNodeError(f"{' '.join(argv)} failed: {result.stderr.strip()}")
        return result.stdout

    def _wait_for_containerd(self, deadline: float) -> None:
        while True:
            try:
                self._ctr("version")
                return
            except RealNodeError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)
