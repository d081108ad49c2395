"""What the chart tests install next to the operator: the integration tests' OIP model server as a
Deployment (written to pass the Pod Security "restricted" profile), a ModelMonitor for it with its
baseline, and the test's view of a namespace through the official client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kubedrift.stats.baseline import build_baseline

MODEL_SERVER = Path(__file__).resolve().parents[1] / "integration/controller/model_server.py"
OPERATOR = "app.kubernetes.io/name=kubedrift"
RESTRICTED_CONTAINER = {
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def model_deployment() -> dict[str, Any]:
    """The integration tests' OIP model server, written to pass the restricted profile."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "model"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "model"}},
            "template": {
                "metadata": {"labels": {"app": "model"}},
                "spec": {
                    "containers": [
                        {
                            "name": "model",
                            "image": "demo-model:1",
                            "command": ["python", "-u", str(MODEL_SERVER)],
                            "env": [
                                {
                                    "name": "POD_IP",
                                    "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
                                },
                                {"name": "MODEL_VERSION", "value": "1"},
                            ],
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "securityContext": RESTRICTED_CONTAINER,
                        }
                    ]
                },
            },
        },
    }


def model_monitor(name: str, **retraining: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "target": {"deployment": "model", "container": "model", "port": 8080},
        "baseline": {"configMapRef": {"name": "model-baseline"}},
        "evaluation": {"interval": "5s"},
    }
    if retraining:
        spec["retraining"] = {
            "triggers": ["DriftDetected"],
            "template": {
                "spec": {
                    "template": {"spec": {"containers": [{"name": "train", "image": "trainer:1"}]}}
                }
            },
            **retraining,
        }
    return {
        "apiVersion": "kubedrift.io/v1alpha1",
        "kind": "ModelMonitor",
        "metadata": {"name": name},
        "spec": spec,
    }


class Namespace:
    """The test's view of its namespace through the official client (admin credentials)."""

    def __init__(self, cluster: Any, name: str) -> None:
        from kubernetes import client  # noqa: PLC0415

        api = cluster.api_client()
        self.name = name
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.api = api

    def status(self, monitor: str) -> dict[str, Any]:
        body = self.custom.get_namespaced_custom_object(
            "kubedrift.io", "v1alpha1", self.name, "modelmonitors", monitor
        )
        return dict(body.get("status") or {})

    def condition(self, monitor: str, type_: str) -> dict[str, Any] | None:
        conditions = self.status(monitor).get("conditions") or []
        return next((c for c in conditions if c["type"] == type_), None)

    def pods(self, selector: str) -> list[dict[str, Any]]:
        found = self.core.list_namespaced_pod(self.name, label_selector=selector).items
        return [self.api.sanitize_for_serialization(p) for p in found]

    def events(self, reason: str) -> list[str]:
        found = self.core.list_namespaced_event(self.name).items
        return [str(e.message) for e in found if e.reason == reason for _ in range(e.count or 1)]


def ready(pod: dict[str, Any], container: str) -> bool:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return any(s["name"] == container and s.get("ready") for s in statuses)


def running(pod: dict[str, Any], container: str) -> bool:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return any(s["name"] == container and "running" in (s.get("state") or {}) for s in statuses)


def create_monitored_model(view: Namespace, monitor: str) -> None:
    """The model Deployment, its baseline ConfigMap and a ModelMonitor ``monitor`` watching it."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=2000)
    baseline = build_baseline({"x": x, "pred": (x > 0).astype(np.int64)}, prediction="pred")
    view.core.create_namespaced_config_map(
        view.name,
        {"metadata": {"name": "model-baseline"}, "data": {"baseline.json": baseline.to_json()}},
    )
    view.apps.create_namespaced_deployment(view.name, model_deployment())
    view.custom.create_namespaced_custom_object(
        "kubedrift.io", "v1alpha1", view.name, "modelmonitors", model_monitor(monitor)
    )
