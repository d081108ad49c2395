"""Performance estimated without labels, on the real control plane: a classifier answering class
probabilities, a baseline with calibration maps, no label ever sent; the status and the
operator's metrics show the estimate, and the opt-in PerformanceDegraded fires on it."""

from __future__ import annotations

from typing import Any

import numpy as np

from kubedrift.stats.baseline import build_baseline
from support.cluster_waiting import wait_for
from support.controller_harness import (
    current_pod_ips,
    metric,
    model_deployment,
    model_monitor,
    scrape,
)
from support.json_post import post


def calibrated_baseline(seed: int) -> str:
    """Training data of the demo model with its probabilities: x ~ N(0, 1), P(1) = sigmoid(2x)
    (what the model answers), labels drawn from it."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=5000)
    p = 1 / (1 + np.exp(-2 * x))
    y = (rng.uniform(size=x.size) < p).astype(np.int64)
    return build_baseline(
        {"x": x, "pred": (x > 0).astype(np.int64), "label": y, "p1": p},
        features=["x"],
        prediction="pred",
        label="label",
        probabilities=["p1"],
    ).to_json()


def send_rows(pod_ips: list[str], values: np.ndarray, per_request: int = 25) -> None:
    """Requests of ``per_request`` rows each through the sidecars' proxy ports; no labels."""
    for index, start in enumerate(range(0, values.size, per_request)):
        part = values[start : start + per_request].tolist()
        post(
            f"http://{pod_ips[index % len(pod_ips)]}:8480/v2/models/demo/infer",
            {"inputs": [{"name": "x", "shape": [len(part)], "datatype": "FP64", "data": part}]},
        )


def performance(kube: Any) -> tuple[str, str]:
    """PerformanceDegraded's (status, reason); empty strings before it is written."""
    found: tuple[str, str] | None = kube.condition("watch", "PerformanceDegraded")
    return found or ("", "")


def test_status_and_metrics_show_the_estimate_and_the_opt_in_alarm_fires_on_it(
    kube: Any, operator: Any
) -> None:
    kube.create_baseline("model-baseline", calibrated_baseline(seed=1))
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model"))
    body = model_monitor("watch", "model")
    body["spec"]["capture"]["probabilities"] = {"output": "proba"}
    body["spec"]["capture"]["predictionOutput"] = "pred"
    body["spec"]["performance"]["estimated"] = True
    kube.create_monitor(body)
    ips = wait_for("a ready Pod with the sidecar", lambda: current_pod_ips(kube, "1"))
    rng = np.random.default_rng(2)

    # Traffic like the training data: the estimate is there, close to the reference's accuracy
    # (about 0.80 for this model), with a band; no labels, so no realized value and no alarm.
    send_rows(ips, rng.normal(size=400))
    estimated = wait_for(
        "an estimate in the status",
        lambda: kube.status("watch").get("estimatedPerformance"),
    )
    accuracy = estimated["accuracy"]
    assert accuracy["lowerBound"] < accuracy["value"] < accuracy["upperBound"]
    assert 0.74 < accuracy["value"] < 0.86
    assert "realized" not in accuracy and estimated["labeled"] == 0
    assert performance(kube)[0] != "True"

    page = scrape(f"http://127.0.0.1:{operator.port}/metrics")
    labels = {"namespace": kube.namespace, "monitor": "watch", "metric": "accuracy"}
    value = metric(page, "kubedrift_monitor_estimated_metric", bound="value", **labels)
    lower = metric(page, "kubedrift_monitor_estimated_metric", bound="lower", **labels)
    assert lower < value and 0.74 < value < 0.86

    # A covariate shift towards the decision boundary: x ~ N(0, 0.2). The estimated accuracy
    # falls to about 0.6; PerformanceDegraded fires on the estimate, saying so, before any label.
    send_rows(ips, rng.normal(scale=0.2, size=600))
    _, reason = wait_for(
        "PerformanceDegraded on the estimate",
        lambda: performance(kube) if performance(kube)[0] == "True" else None,
    )
    assert reason == "EstimatedErrorRateShift"
    condition = next(
        c for c in kube.status("watch")["conditions"] if c["type"] == "PerformanceDegraded"
    )
    assert "estimated without labels" in condition["message"]
    assert kube.status("watch")["estimatedPerformance"]["accuracy"]["value"] < 0.75
    assert len(kube.events("PerformanceDegraded")) == 1
