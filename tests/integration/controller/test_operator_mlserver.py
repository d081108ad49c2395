"""A real MLServer 1.7.1 hosting two models in a Pod of the real control plane; the monitor of
one of them (spec.target.model) gets only that model's traffic, with the payload named by
spec.capture.features and its class indices by spec.capture.classes (issue 22).

MLServer runs from its own virtualenv (``make servers``); ``tests/servers/mlserver_side.py``
writes its model repository and the requests MLServer's own codecs encode.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kubedrift.stats.baseline import build_baseline
from support.cluster_waiting import wait_for

REPO = Path(__file__).resolve().parents[3]
MLSERVER_VENV = REPO / ".venv-mlserver"
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def mlserver_deployment(models: Path) -> dict[str, Any]:
    labels = {"app": "mlserver"}
    env = [
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "MLSERVER_HOST", "value": "$(POD_IP)"},
        {"name": "PYTHONWARNINGS", "value": "ignore"},
    ]
    container = {
        "name": "model",
        "image": "mlserver:1.7.1",
        "command": [str(MLSERVER_VENV / "bin" / "mlserver"), "start", str(models)],
        "env": env,
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {
            "httpGet": {"path": "/v2/models/iris/ready", "port": 8080},
            "periodSeconds": 1,
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "mlserver"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


def baseline_json(training: dict[str, Any]) -> str:
    labels = np.array(training["label"], dtype=object)
    columns = {name: np.array(values) for name, values in training["columns"].items()}
    baseline = build_baseline(
        {**columns, "prediction": labels, "label": labels}, prediction="prediction", label="label"
    )
    return baseline.to_json()


def ready_pod_ip(kube: Any) -> str | None:
    for pod in kube.pods("app=mlserver"):
        statuses = pod.get("status", {}).get("containerStatuses") or []
        ready = {s["name"] for s in statuses if s.get("ready")}
        if {"model", "kubedrift-sidecar"} <= ready and not pod["metadata"].get("deletionTimestamp"):
            return str(pod["status"]["podIP"])
    return None


@pytest.fixture
def mlserver_requests(kube: Any, tmp_path: Path) -> list[dict[str, Any]]:
    """MLServer serving iris and wine in Deployment ``mlserver`` (no monitor yet), the baseline
    ConfigMap ``mlserver-baseline``; returns the requests MLServer's codecs encoded (each with
    its ``model``, ``name``, ``body`` and ``rows``)."""
    python = MLSERVER_VENV / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{MLSERVER_VENV} is missing: run `make servers`")
    script = REPO / "tests" / "servers" / "mlserver_side.py"
    subprocess.run([str(python), str(script), str(tmp_path), "8080", "8081"], check=True,
                   timeout=300)  # fmt: skip
    training = json.loads((tmp_path / "training.json").read_text())
    kube.create_baseline("mlserver-baseline", baseline_json(training))
    kube.apps.create_namespaced_deployment(kube.namespace, mlserver_deployment(tmp_path / "models"))
    requests: list[dict[str, Any]] = json.loads((tmp_path / "requests.json").read_text())
    return requests


def model_monitor(name: str, model: str, min_samples: int = 30) -> dict[str, Any]:
    return {
        "apiVersion": "kubedrift.io/v1alpha1",
        "kind": "ModelMonitor",
        "metadata": {"name": name},
        "spec": {
            "target": {"deployment": "mlserver", "port": 8080, "model": model},
            "capture": {
                "protocol": "open-inference-v2",
                "maxSamplesPerSecond": 100000,
                "features": {"positions": FEATURES},
                "classes": {"fromBaseline": True},
            },
            "baseline": {"configMapRef": {"name": "mlserver-baseline"}},
            "window": {"samples": 100000, "maxAge": "1h", "minSamples": min_samples},
            "evaluation": {"interval": "5s"},
        },
    }


def test_a_monitor_of_one_mlserver_model_sees_only_that_models_traffic(
    kube: Any, operator: Any, mlserver_requests: list[dict[str, Any]]
) -> None:
    kube.create_monitor(model_monitor("iris", "iris", min_samples=50))

    ip = wait_for("MLServer and the sidecar ready", lambda: ready_pod_ip(kube), timeout=180)
    send(ip, mlserver_requests)

    iris_rows = sum(len(item["rows"]) for item in mlserver_requests if item["model"] == "iris")
    status = wait_for(
        "the evaluation of iris's 80 rows",
        lambda: (s := kube.status("iris")).get("window", {}).get("samples") == iris_rows and s,
    )
    assert iris_rows == 80
    assert status["phase"] == "Healthy"
    assert sorted(f["name"] for f in status["drift"]["features"]) == sorted(FEATURES)
    assert not any(f["drifted"] for f in status["drift"]["features"])
    # predict_proba's class indices became the baseline's high/low: the predictions match it
    assert status["drift"]["prediction"]["drifted"] is False


def shared_pod_ip(kube: Any, members: set[str]) -> str | None:
    """A ready Pod of the current template, whose sidecar is shared by exactly ``members``."""
    deployment = kube.deployment("mlserver")
    shared = json.loads(deployment["metadata"].get("annotations", {}).get(MEMBERS, "{}"))
    if set(shared) != members:
        return None
    wanted = deployment["spec"]["template"]["metadata"]["annotations"][HASH]
    for pod in kube.pods("app=mlserver"):
        if (pod["metadata"].get("annotations") or {}).get(HASH) == wanted:
            statuses = pod.get("status", {}).get("containerStatuses") or []
            ready = {s["name"] for s in statuses if s.get("ready")}
            if {"model", "kubedrift-sidecar"} <= ready:
                return str(pod["status"]["podIP"])
    return None


def send(ip: str, requests: list[dict[str, Any]]) -> None:
    for item in requests:
        request = urllib.request.Request(
            f"http://{ip}:8480/v2/models/{item['model']}/infer",
            item["body"].encode(),
            {"Content-Type": "application/json", "X-Request-ID": item["name"]},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.load(response)["model_name"] == item["model"]


MEMBERS = "kubedrift.io/monitors"
HASH = "kubedrift.io/config-hash"


def test_monitors_of_two_mlserver_models_share_one_sidecar_and_only_the_drifting_one_drifts(
    kube: Any, operator: Any, mlserver_requests: list[dict[str, Any]]
) -> None:
    kube.create_monitor(model_monitor("iris", "iris"))
    kube.create_monitor(model_monitor("wine", "wine"))

    ip = wait_for(
        "one sidecar shared by iris and wine",
        lambda: shared_pod_ip(kube, {"iris", "wine"}),
        timeout=240,
    )
    deployment = kube.deployment("mlserver")
    containers = [c["name"] for c in deployment["spec"]["template"]["spec"]["containers"]]
    assert sorted(containers) == ["kubedrift-sidecar", "model"]
    requests = mlserver_requests
    send(ip, requests)

    # wine's traffic is shifted by 3 standard deviations, iris's is not
    rows = {m: sum(len(i["rows"]) for i in requests if i["model"] == m) for m in ("iris", "wine")}
    assert rows == {"iris": 80, "wine": 80}
    iris = wait_for(
        "iris's evaluation of its 80 rows",
        lambda: (s := kube.status("iris")).get("window", {}).get("samples") == 80 and s,
    )
    wine = wait_for(
        "wine's evaluation of its 80 rows",
        lambda: (s := kube.status("wine")).get("window", {}).get("samples") == 80 and s,
    )
    assert iris["phase"] == "Healthy"
    assert not any(f["drifted"] for f in iris["drift"]["features"])
    assert wine["phase"] == "Drifting"
    assert kube.condition("wine", "DriftDetected")[0] == "True"
    assert sorted(f["name"] for f in wine["drift"]["features"] if f["drifted"]) == sorted(FEATURES)

    # a second monitor of the same model is refused with the reason
    kube.create_monitor(model_monitor("iris-again", "iris"))
    refused = wait_for(
        "the second monitor of iris refused",
        lambda: kube.condition("iris-again", "Ready") == ("False", "TargetAlreadyMonitored"),
    )
    assert refused
    message = next(
        c["message"] for c in kube.status("iris-again")["conditions"] if c["type"] == "Ready"
    )
    assert "model iris of Deployment mlserver is already monitored by ModelMonitor iris" in message
    kube.custom.delete_namespaced_custom_object(
        "kubedrift.io", "v1alpha1", kube.namespace, "modelmonitors", "iris-again"
    )

    # deleting iris keeps the sidecar for wine, which goes on evaluating its model's traffic
    kube.custom.delete_namespaced_custom_object(
        "kubedrift.io", "v1alpha1", kube.namespace, "modelmonitors", "iris"
    )
    ip = wait_for(
        "the sidecar kept for wine alone", lambda: shared_pod_ip(kube, {"wine"}), timeout=240
    )
    numpy_wine = [i for i in requests if i["model"] == "wine" and i["codec"] == "numpy"]
    send(ip, numpy_wine + [i for i in requests if i["model"] == "iris"])
    wine = wait_for(
        "wine's evaluation of the 40 rows sent after iris's monitor went",
        lambda: (s := kube.status("wine")).get("window", {}).get("samples") == 40 and s,
    )
    assert wine["phase"] == "Drifting"
    assert kube.monitor("iris") is None
