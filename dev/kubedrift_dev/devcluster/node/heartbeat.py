"""Register the Node and keep it healthy in the eyes of the node lifecycle controller.

The kubelet's contract: a Node object with Ready conditions, a Lease in ``kube-node-lease``
renewed every 10 s (the controller marks the node NotReady and evicts its Pods when neither the
Lease nor the status moves for ``--node-monitor-grace-period``), and a status refresh now and
then. :func:`node_object` and :func:`lease_object` are pure; :class:`Heartbeat` does the calls.
"""

from __future__ import annotations

import logging
import os
import platform
import threading
import time
from datetime import UTC, datetime
from typing import Any

from kubedrift_dev.devcluster.node.podstatus import timestamp
from kubedrift_dev.devcluster.node.rest import MERGE_PATCH, ApiError, Rest

LEASE_NAMESPACE = "kube-node-lease"
LEASE_SECONDS = 40
RENEW_EVERY = 10.0
STATUS_EVERY = 60.0
#: What the stand-in reports as its kubelet version (the control plane's version).
KUBELET_VERSION = "v1.37.2"

log = logging.getLogger(__name__)


def micro_time(seconds: float) -> str:
    """``metav1.MicroTime`` as the API expects it."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def node_conditions(since: float, now: float) -> list[dict[str, Any]]:
    """Healthy node conditions, in transition since ``since``, heard from at ``now``."""
    entries = [
        ("Ready", "True", "KubeletReady", "kubedrift node stand-in is posting ready status"),
        ("MemoryPressure", "False", "KubeletHasSufficientMemory", "no memory pressure"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "no PID pressure"),
    ]
    return [
        {
            "type": type_,
            "status": status,
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": timestamp(now),
            "lastTransitionTime": timestamp(since),
        }
        for type_, status, reason, message in entries
    ]


def node_object(
    name: str,
    pod_cidr: str,
    now: float,
    *,
    cpus: int,
    memory_bytes: int,
    log_port: int = 0,
    max_pods: int = 110,
) -> dict[str, Any]:
    """The Node as registered: schedulable, with capacity and loopback addresses."""
    capacity = {"cpu": str(cpus), "memory": str(memory_bytes), "pods": str(max_pods),
                "ephemeral-storage": str(100 * 2**30)}  # fmt: skip
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64" if platform.machine() == "x86_64" else "arm64",
                "kubedrift.io/node-stand-in": "true",
            },
        },
        "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]},
        "status": {
            "capacity": capacity,
            "allocatable": capacity,
            "conditions": node_conditions(now, now),
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": log_port}},
            "nodeInfo": {
                "machineID": name,
                "systemUUID": name,
                "bootID": name,
                "kernelVersion": platform.release(),
                "osImage": "kubedrift node stand-in (local processes)",
                "containerRuntimeVersion": "kubedrift-local://0.1.0",
                "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64" if platform.machine() == "x86_64" else "arm64",
            },
        },
    }


def lease_object(name: str, node_uid: str, now: float) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": name,
            "namespace": LEASE_NAMESPACE,
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node_uid}
            ],
        },
        "spec": {
            "holderIdentity": name,
            "leaseDurationSeconds": LEASE_SECONDS,
            "renewTime": micro_time(now),
        },
    }


def memory_bytes() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 4 * 2**30


class Heartbeat(threading.Thread):
    """Registers the Node, then renews its Lease and refreshes its status until ``stop`` is set.
    ``log_port`` is where :mod:`.logserver` listens (the kubelet endpoint the API server uses)."""

    def __init__(
        self, rest: Rest, name: str, pod_cidr: str, stop: threading.Event, log_port: int = 0
    ) -> None:
        super().__init__(name="heartbeat", daemon=True)
        self.rest = rest
        self.node_name = name
        self.pod_cidr = pod_cidr
        self.log_port = log_port
        self.stop = stop
        self.registered = threading.Event()
        self._since = time.time()

    def run(self) -> None:
        next_status = 0.0
        while not self.stop.is_set():
            try:
                if not self.registered.is_set():
                    self._register()
                self._renew_lease()
                if time.monotonic() >= next_status:
                    self._refresh_status()
                    next_status = time.monotonic() + STATUS_EVERY
                self.stop.wait(RENEW_EVERY)
            except Exception:  # any API or network failure: log it and try again soon
                log.exception("node heartbeat failed; retrying")
                self.stop.wait(2.0)

    def _register(self) -> None:
        node = node_object(self.node_name, self.pod_cidr, time.time(), cpus=os.cpu_count() or 1,
                           memory_bytes=memory_bytes(), log_port=self.log_port)  # fmt: skip
        try:
            self.rest.request("POST", "/api/v1/nodes", body=node)
        except ApiError as error:
            if error.status != 409:
                raise
            # Registered by an earlier run of this node: bring its status up to date.
            path = f"/api/v1/nodes/{self.node_name}/status"
            self.rest.request("PATCH", path, body={"status": node["status"]},
                              content_type=MERGE_PATCH)  # fmt: skip
        self._refresh_status()
        self.registered.set()
        log.info("registered node %s", self.node_name)

    def _refresh_status(self) -> None:
        now = time.time()
        self.rest.request(
            "PATCH",
            f"/api/v1/nodes/{self.node_name}/status",
            body={"status": {"conditions": node_conditions(self._since, now)}},
            content_type=MERGE_PATCH,
        )

    def _renew_lease(self) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases/{self.node_name}"
        now = time.time()
        try:
            self.rest.request("PATCH", path, content_type=MERGE_PATCH, body={
                "spec": {"holderIdentity": self.node_name, "renewTime": micro_time(now),
                         "leaseDurationSeconds": LEASE_SECONDS}})  # fmt: skip
        except ApiError as error:
            if error.status != 404:
                raise
            node = self.rest.get(f"/api/v1/nodes/{self.node_name}")
            self.rest.request(
                "POST",
                f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases",
                body=lease_object(self.node_name, node["metadata"]["uid"], now),
            )
