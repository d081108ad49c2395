"""Helpers of the operator's integration tests: the operator as a real subprocess, the objects
the scenarios share (model Deployment, baselines, ModelMonitor), a view of the namespace, and
``wait_for`` (from ``cluster_waiting``), which polls with a hang guard, not a speed requirement."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from kubedrift.stats.baseline import build_baseline
from support.cluster_waiting import wait_for
from support.controller_traffic import send_traffic

#: The scripts the test Pods run (the model server, the retraining Job).
HERE = Path(__file__).resolve().parents[1] / "integration" / "controller"
KUBEDRIFT = str(Path(sys.executable).parent / "kubedrift")


@dataclass
class OperatorProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def kill(self) -> None:
        """SIGKILL: no cleanup, like a crashed or evicted Pod."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def samples(text: str, name: str) -> list[Sample]:
    """The ``name`` samples of a Prometheus exposition, read by the client's own parser."""
    return [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the ``name`` samples whose labels include ``labels``."""
    return sum(s.value for s in samples(text, name) if labels.items() <= s.labels.items())


def baseline_json(shift: float, seed: int) -> str:
    """Training data of the demo model: x ~ N(shift, 1), prediction and label x > shift."""
    rng = np.random.default_rng(seed)
    x = rng.normal(loc=shift, size=3000)
    y = (x > shift).astype(np.int64)
    return build_baseline(
        {"x": x, "pred": y, "label": y}, prediction="pred", label="label"
    ).to_json()


def model_deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "model",
                            "image": "demo-model:1",
                            "command": ["python", "-u", str(HERE / "model_server.py")],
                            "env": [
                                {
                                    "name": "POD_IP",
                                    "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
                                },
                                {"name": "MODEL_VERSION", "value": "1"},
                            ],
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "readinessProbe": {
                                "httpGet": {"path": "/v2/health/ready", "port": 8080},
                                "periodSeconds": 1,
                            },
                        }
                    ]
                },
            },
        },
    }


def model_monitor(
    name: str,
    target: str,
    triggers: tuple[str, ...] = ("PerformanceDegraded", "DriftDetected"),
    **retraining: Any,
) -> dict[str, Any]:
    """A monitor of ``target`` with a 5 s interval; ``retraining`` adds a retraining section
    whose Job runs ``retrain_job.py`` with the given env (NEW_VERSION, NEW_BASELINE...)."""
    spec: dict[str, Any] = {
        "target": {"deployment": target, "container": "model", "port": 8080},
        "capture": {
            "protocol": "open-inference-v2",
            "sampleRate": 1.0,
            "maxSamplesPerSecond": 100000,
        },
        "baseline": {"configMapRef": {"name": f"{target}-baseline"}},
        "window": {"samples": 100000, "maxAge": "1h", "minSamples": 100},
        "performance": {"metric": "accuracy", "threshold": 0.8, "minLabeledSamples": 100},
        "evaluation": {"interval": "5s"},
    }
    if retraining:
        env = [{"name": key, "value": str(value)} for key, value in retraining.items()]
        spec["retraining"] = {
            "triggers": list(triggers),
            "cooldown": "1h",
            "template": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [
                                {
                                    "name": "train",
                                    "image": "demo-trainer:1",
                                    "command": ["python", "-u", str(HERE / "retrain_job.py")],
                                    "env": env,
                                }
                            ],
                        }
                    },
                }
            },
            "rollout": {"strategy": "restart", "versionEnv": "MODEL_VERSION"},
        }
    return {
        "apiVersion": "kubedrift.io/v1alpha1",
        "kind": "ModelMonitor",
        "metadata": {"name": name},
        "spec": spec,
    }


def current_pod_ips(kube: Any, version: str) -> list[str] | None:
    """IPs of ready Pods (model and sidecar ready) that run the given model version."""
    ips = []
    for pod in kube.pods("app=model"):
        if pod["metadata"].get("deletionTimestamp"):
            return None  # wait until the rollout has settled
        env = {
            e["name"]: e.get("value")
            for c in pod["spec"]["containers"]
            if c["name"] == "model"
            for e in c.get("env") or []
        }
        statuses = pod.get("status", {}).get("containerStatuses") or []
        ready = {s["name"] for s in statuses if s.get("ready")}
        if env.get("MODEL_VERSION") == version and {"model", "kubedrift-sidecar"} <= ready:
            ips.append(pod["status"]["podIP"])
    return ips or None


def start_drifted_retraining_scenario(kube: Any, **job_env: str) -> tuple[list[str], str]:
    """The retraining scenario of the operator suites, up to the point where the operator must act.

    Baselines ``model-baseline`` (x ~ N(0, 1)) and ``model-baseline-v2`` (x ~ N(3, 1)), the model
    Deployment ``model`` (version 1), and the monitor ``watch`` retraining on
    ``PerformanceDegraded`` (judged only once labels arrived, so the Job finds labeled rows in
    dataset B) with a Job that answers version 2 and the v2 baseline (``job_env`` adds to the
    Job's environment); then 300 rows drifted to N(3, 1) and their labels sent through the
    running sidecar. Returns the Pod IPs and the sidecar token.
    """
    kube.create_baseline("model-baseline", baseline_json(0.0, seed=1))
    kube.create_baseline("model-baseline-v2", baseline_json(3.0, seed=2))
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model"))
    kube.create_monitor(
        model_monitor(
            "watch",
            "model",
            triggers=("PerformanceDegraded",),
            NEW_VERSION="2",
            NEW_BASELINE="model-baseline-v2",
            **job_env,
        )
    )
    ips = wait_for("a ready Pod with the sidecar", lambda: current_pod_ips(kube, "1"))
    token = kube.secret_value("watch-kubedrift-token", "sidecar-token")
    send_traffic(ips, shift=3.0, rows=300, seed=3, admin_token=token, prefix="drifted")
    return ips, token


#: The promotion gate of the gated scenarios (``start_gated_scenario``).
PROMOTION = {"margin": 0.0, "confidence": 0.95, "minHeldOut": 50, "watchPeriod": "1h"}


def start_gated_scenario(
    kube: Any,
    *,
    new_version: str,
    strategy: str = "restart",
    rollout: dict[str, Any] | None = None,
    **job_env: str,
) -> str:
    """The scenario of the promotion gate and the live trials, up to the first Job.

    Baselines ``model-baseline`` (x ~ N(0, 1)) and ``model-baseline-v3`` (x ~ N(1, 1)), the
    model Deployment ``model`` (version 1: ``x > 0``), the monitor ``watch`` with the gate
    ``PROMOTION`` and ``rollout.strategy`` ``strategy`` (``rollout`` adds other rollout fields),
    retraining on ``PerformanceDegraded`` with a Job that reports ``new_version`` and the v3
    baseline (``job_env`` adds to its environment, e.g. ``SCORE``); then 300 rows drifted to
    N(1, 1) and their labels (``x > 1``, so version 1 is right on about two thirds) through the
    running sidecar. Returns the sidecar token.
    """
    kube.create_baseline("model-baseline", baseline_json(0.0, seed=1))
    kube.create_baseline("model-baseline-v3", baseline_json(1.0, seed=2))
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model"))
    monitor = model_monitor(
        "watch",
        "model",
        triggers=("PerformanceDegraded",),
        NEW_VERSION=new_version,
        NEW_BASELINE="model-baseline-v3",
        **job_env,
    )
    monitor["spec"]["retraining"]["promotion"] = PROMOTION
    monitor["spec"]["retraining"]["rollout"].update(strategy=strategy, **(rollout or {}))
    kube.create_monitor(monitor)
    ips = wait_for("a ready Pod with the sidecar", lambda: current_pod_ips(kube, "1"))
    token: str = kube.secret_value("watch-kubedrift-token", "sidecar-token")
    send_traffic(ips, shift=1.0, rows=300, seed=3, admin_token=token, prefix="drifted")
    return token


def wait_for_trial_verdict(kube: Any, what: str) -> dict[str, Any]:
    """``status.retraining`` of the monitor ``watch`` once its live trial ended in a verdict
    (``lastResult`` ``Succeeded`` or ``Rejected``) and the verdict's Event is posted (the
    operator posts it just after writing the status); ``what`` names the wait in its timeout."""
    reasons = {"Succeeded": "RetrainingSucceeded", "Rejected": "RetrainingRejected"}

    def ended() -> dict[str, Any] | None:
        retraining = kube.status("watch").get("retraining") or {}
        reason = reasons.get(retraining.get("lastResult"))
        return retraining if reason is not None and kube.events(reason) else None

    result: dict[str, Any] = wait_for(what, ended)
    return result


def candidate_pod_ips(kube: Any) -> list[str]:
    """IPs of the live trial's candidate Pods that are ready and not terminating."""
    ips = []
    for pod in kube.pods("kubedrift.io/model-role=candidate"):
        statuses = pod.get("status", {}).get("containerStatuses") or []
        ready = bool(statuses) and all(s.get("ready") for s in statuses)
        if ready and pod["metadata"].get("deletionTimestamp") is None:
            ips.append(pod["status"]["podIP"])
    return ips


def candidate_gone(kube: Any) -> bool | None:
    """True once the live trial's candidate Deployment is deleted."""
    from kubernetes.client import ApiException  # noqa: PLC0415

    try:
        kube.apps.read_namespaced_deployment("model-kubedrift-candidate", kube.namespace)
    except ApiException as error:
        return True if error.status == 404 else None
    return None


class Kube:
    """The test's view of its namespace through the official client (admin credentials)."""

    def __init__(self, cluster: Any, namespace: str) -> None:
        from kubernetes import client  # noqa: PLC0415

        api = cluster.api_client()
        self.namespace = namespace
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.batch = client.BatchV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.api = api

    def create_baseline(self, name: str, text: str) -> None:
        self.core.create_namespaced_config_map(
            self.namespace, {"metadata": {"name": name}, "data": {"baseline.json": text}}
        )

    def create_monitor(self, body: dict[str, Any]) -> None:
        self.custom.create_namespaced_custom_object(
            "kubedrift.io", "v1alpha1", self.namespace, "modelmonitors", body
        )

    def monitor(self, name: str) -> dict[str, Any] | None:
        from kubernetes.client import ApiException  # noqa: PLC0415

        try:
            found: Any = self.custom.get_namespaced_custom_object(
                "kubedrift.io", "v1alpha1", self.namespace, "modelmonitors", name
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return found

    def status(self, name: str) -> dict[str, Any]:
        return (self.monitor(name) or {}).get("status") or {}

    def condition(self, name: str, type_: str) -> tuple[str, str] | None:
        for entry in self.status(name).get("conditions") or []:
            if entry["type"] == type_:
                return entry["status"], entry["reason"]
        return None

    def deployment(self, name: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.api.sanitize_for_serialization(
            self.apps.read_namespaced_deployment(name, self.namespace)
        )
        return answer

    def pods(self, selector: str) -> list[dict[str, Any]]:
        pods = self.core.list_namespaced_pod(self.namespace, label_selector=selector).items
        return [self.api.sanitize_for_serialization(p) for p in pods]

    def jobs(self) -> list[str]:
        return sorted(
            str(j.metadata.name) for j in self.batch.list_namespaced_job(self.namespace).items
        )

    def events(self, reason: str) -> list[str]:
        """Messages of the namespace's Events with ``reason``, each as often as it happened (a
        repeat raises an Event's count)."""
        found = self.core.list_namespaced_event(self.namespace).items
        return [str(e.message) for e in found if e.reason == reason for _ in range(e.count or 1)]

    def secret_value(self, name: str, key: str) -> str:
        import base64  # noqa: PLC0415

        secret = self.core.read_namespaced_secret(name, self.namespace)
        return base64.b64decode(secret.data[key]).decode()
