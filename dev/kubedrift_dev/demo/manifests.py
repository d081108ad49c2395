"""The objects the demo deploys, as plain dicts: the model ConfigMap and Deployment, the
retraining ServiceAccount and its Role, the baseline ConfigMap and the ModelMonitor.

:class:`DemoSettings` holds the knobs the scenario and the monitor share. The monitor is tuned
for a demo that finishes in minutes: 5 s evaluations, windows of 200 samples, a 20 s cooldown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubedrift.wire import OPERATOR_FEEDBACK_ROUTE

MODEL = "demo-model"
MONITOR = "demo-model"
MODEL_CONFIGMAP = "demo-model-weights"
BASELINE = "demo-model-baseline"
TRAINER = "demo-trainer"
MODEL_PORT = 8080
PROXY_PORT = 8480
ADMIN_PORT = 8481
LABELS = {"app": MODEL, "app.kubernetes.io/part-of": "kubedrift-demo"}


@dataclass(frozen=True)
class DemoSettings:
    """Knobs of the demo's ModelMonitor. A step of traffic is one window (``window_samples``), so
    every evaluation between steps judges exactly the last step: detection happens within one
    window of the shift."""

    image: str = "ghcr.io/kubedrift/kubedrift:latest"
    window_samples: int = 200
    min_samples: int = 100
    min_labeled: int = 100
    accuracy_threshold: float = 0.85
    interval_seconds: int = 5
    cooldown_seconds: int = 20
    min_held_out: int = 30


def labels_url(operator_url: str, namespace: str) -> str:
    """The operator's feedback endpoint for the demo's monitor."""
    return operator_url + OPERATOR_FEEDBACK_ROUTE.format(namespace=namespace, name=MONITOR)


def _meta(name: str) -> dict[str, Any]:
    return {"name": name, "labels": {"app.kubernetes.io/part-of": "kubedrift-demo"}}


def model_configmap(model_json: str) -> dict[str, Any]:
    """Model versions as keys ``model-<version>.json``; the retraining Job adds new ones."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(MODEL_CONFIGMAP),
        "data": {"model-1.json": model_json},
    }


def baseline_configmap(baseline_json: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(BASELINE),
        "data": {"baseline.json": baseline_json},
    }


def trainer_rbac() -> list[dict[str, Any]]:
    """ServiceAccount of the retraining Job, allowed to write ConfigMaps in the namespace."""
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(TRAINER)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta(TRAINER),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["configmaps"],
                    "verbs": ["get", "create", "update", "patch"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta(TRAINER),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": TRAINER},
            "subjects": [{"kind": "ServiceAccount", "name": TRAINER}],
        },
    ]


def model_deployment(settings: DemoSettings) -> dict[str, Any]:
    """One replica of :mod:`kubedrift_dev.demo.model_server`, model version 1."""
    container = {
        "name": "model",
        "image": settings.image,
        "command": ["python", "-u", "-m", "kubedrift_dev.demo.model_server"],
        "env": [
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "PORT", "value": str(MODEL_PORT)},
            {"name": "MODEL_DIR", "value": "/models"},
            {"name": "MODEL_VERSION", "value": "1"},
        ],
        "ports": [{"name": "http", "containerPort": MODEL_PORT}],
        "readinessProbe": {
            "httpGet": {"path": "/v2/health/ready", "port": MODEL_PORT},
            "periodSeconds": 1,
        },
        "volumeMounts": [{"name": "models", "mountPath": "/models", "readOnly": True}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": MODEL, "labels": LABELS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": MODEL}},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "containers": [container],
                    "volumes": [{"name": "models", "configMap": {"name": MODEL_CONFIGMAP}}],
                },
            },
        },
    }


def retraining_job_template(settings: DemoSettings) -> dict[str, Any]:
    container = {
        "name": "retrain",
        "image": settings.image,
        "command": ["python", "-u", "-m", "kubedrift_dev.demo.retrain"],
        "env": [
            {"name": "MODEL_CONFIGMAP", "value": MODEL_CONFIGMAP},
            {"name": "BASELINE_PREFIX", "value": BASELINE},
        ],
    }
    return {
        "spec": {
            "backoffLimit": 0,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
        }
    }


def model_monitor(settings: DemoSettings) -> dict[str, Any]:
    spec = {
        "target": {"deployment": MODEL, "container": "model", "port": MODEL_PORT},
        "capture": {
            "mode": "proxy",
            "protocol": "open-inference-v2",
            "sampleRate": 1.0,
            "maxSamplesPerSecond": 100000,
            "listenPort": PROXY_PORT,
            "adminPort": ADMIN_PORT,
        },
        "baseline": {"configMapRef": {"name": BASELINE, "key": "baseline.json"}},
        "window": {
            "samples": settings.window_samples,
            "maxAge": "1h",
            "minSamples": settings.min_samples,
        },
        # The default false-alarm contract (one per 30 days), no hand-tuned threshold.
        "drift": {"driftShare": 0.5},
        "performance": {
            "metric": "accuracy",
            "threshold": settings.accuracy_threshold,
            "minLabeledSamples": settings.min_labeled,
        },
        "evaluation": {"interval": f"{settings.interval_seconds}s"},
        "retraining": {
            "triggers": ["PerformanceDegraded", "DriftDetected"],
            "cooldown": f"{settings.cooldown_seconds}s",
            "serviceAccountName": TRAINER,
            "template": retraining_job_template(settings),
            "rollout": {"strategy": "restart", "versionEnv": "MODEL_VERSION"},
            "promotion": {
                "margin": 0.0,
                "confidence": 0.95,
                "minHeldOut": settings.min_held_out,
                "watchPeriod": "10m",
            },
        },
    }
    return {
        "apiVersion": "kubedrift.io/v1alpha1",
        "kind": "ModelMonitor",
        "metadata": {"name": MONITOR},
        "spec": spec,
    }
