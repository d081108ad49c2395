"""Helpers of the API-fault tests (watch expiry, update conflicts): what the API server itself
says (its answer to a watch, its open watches), and a concurrent writer that keeps changing the
objects the operator also writes.

Every wait is ``controller_harness.wait_for``: a hang guard, not a speed requirement.
"""

from __future__ import annotations

import json
import ssl
import threading
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiException

from kubedrift_dev.devcluster import ControlPlane

#: Pause between the writer's rounds, so it competes with the operator without starving the
#: shared machine (the rounds' count is printed, not asserted).
PACE = 0.2


def _admin_context(control_plane: ControlPlane) -> ssl.SSLContext:
    pki = control_plane.layout.pki
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    context.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
    return context


def first_watch_event(control_plane: ControlPlane, path: str, since: str) -> dict[str, Any]:
    """The API server's first answer to a watch of ``path`` resumed from ``since``."""
    url = f"{control_plane.server}{path}?watch=true&resourceVersion={since}&timeoutSeconds=5"
    with urllib.request.urlopen(url, context=_admin_context(control_plane), timeout=30) as answer:
        line = answer.readline()
    event: dict[str, Any] = json.loads(line)
    return event


def open_watches(control_plane: ControlPlane, resource: str, scope: str) -> int:
    """Watch requests on ``resource`` the API server is serving now (its own metric)."""
    url = f"{control_plane.server}/metrics"
    with urllib.request.urlopen(url, context=_admin_context(control_plane), timeout=30) as answer:
        text = answer.read().decode()
    total = 0
    for line in text.splitlines():
        if (
            line.startswith("apiserver_longrunning_requests{")
            and f'resource="{resource}"' in line
            and f'scope="{scope}"' in line
            and 'verb="WATCH"' in line
        ):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


@dataclass(eq=False)
class ConcurrentWriter(threading.Thread):
    """Another controller working on the same Deployment and Service as the operator.

    Each round it does a read-modify-write of the whole Deployment (``replace`` with the
    resourceVersion it read, as ``kubectl edit`` or a controller's update does: counter
    annotation, replicas toggled 0/1) and a blind patch of the Service's second port's target
    (a port the operator must leave alone). A 409 answer is re-read and redone. ``last`` holds
    what it wrote last, so the test can check nothing of it was lost.
    """

    kube: Any
    deployment: str
    service: str
    rounds: int = 0
    conflicts: int = 0
    last: dict[str, Any] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        super().__init__(name="concurrent-writer", daemon=True)

    def run(self) -> None:
        while not self.stopping.wait(PACE):
            self.rounds += 1
            self._edit_deployment(self.rounds)
            self._patch_service(self.rounds)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=60)

    def _edit_deployment(self, number: int) -> None:
        apps, namespace = self.kube.apps, self.kube.namespace
        while True:
            # The raw JSON, so fields newer than the Python client's models survive the replace.
            answer = apps.read_namespaced_deployment(self.deployment, namespace,
                                                     _preload_content=False)  # fmt: skip
            deployment = json.loads(answer.data)
            annotations = deployment["metadata"].setdefault("annotations", {})
            annotations["writer.example.com/round"] = str(number)
            deployment["spec"]["replicas"] = number % 2
            try:
                apps.replace_namespaced_deployment(self.deployment, namespace, deployment)
            except ApiException as error:
                if error.status != 409:
                    raise
                self.conflicts += 1
                continue
            self.last["round"], self.last["replicas"] = str(number), number % 2
            return

    def _patch_service(self, number: int) -> None:
        target = 9100 + number % 7
        self.kube.core.patch_namespaced_service(
            self.service,
            self.kube.namespace,
            {"spec": {"ports": [{"name": "metrics", "port": 9090, "targetPort": target}]}},
        )
        self.last["metrics_target"] = target
