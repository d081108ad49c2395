"""The multivariate signal on the real control plane: a correlation flip that no per-feature test
can see reaches the monitor's status, its condition and the operator's metrics."""

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
    samples,
    scrape,
)
from support.json_post import post


def pair(rng: np.random.Generator, rho: float, rows: int) -> tuple[Any, Any]:
    """``x`` and ``y`` standard normal with correlation ``rho``."""
    x = rng.normal(size=rows)
    return x, rho * x + np.sqrt(1 - rho**2) * rng.normal(size=rows)


def send_pairs(ips: list[str], *, rho: float, rows: int, seed: int) -> None:
    """``rows`` single-row OIP v2 requests carrying inputs ``x`` and ``y`` (the model reads x)."""
    xs, ys = pair(np.random.default_rng(seed), rho, rows)
    for index, (x, y) in enumerate(zip(xs.tolist(), ys.tolist(), strict=True)):
        post(
            f"http://{ips[index % len(ips)]}:8480/v2/models/demo/infer",
            {
                "inputs": [
                    {"name": "x", "shape": [1], "datatype": "FP64", "data": [x]},
                    {"name": "y", "shape": [1], "datatype": "FP64", "data": [y]},
                ]
            },
        )


def drift(kube: Any) -> tuple[str, str] | None:
    return kube.condition("watch", "DriftDetected")


def test_a_correlation_flip_is_reported_as_multivariate_drift_by_the_operator(
    kube: Any, operator: Any
) -> None:
    x, y = pair(np.random.default_rng(1), 0.8, 4000)
    baseline = build_baseline({"x": x, "y": y, "pred": (x > 0).astype(np.int64)}, prediction="pred")
    assert baseline.multivariate is not None
    kube.create_baseline("model-baseline", baseline.to_json())
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model"))
    body = model_monitor("watch", "model")
    del body["spec"]["performance"]
    kube.create_monitor(body)
    ips = wait_for("a ready Pod with the sidecar", lambda: current_pod_ips(kube, "1"))

    send_pairs(ips, rho=0.8, rows=200, seed=5)
    wait_for("a calm verdict", lambda: drift(kube) == ("False", "NoDrift"))
    calm = kube.status("watch")["drift"]
    assert calm["multivariate"]["drifted"] is False
    assert calm["multivariate"]["evidence"] < calm["multivariate"]["threshold"]

    send_pairs(ips, rho=-0.8, rows=300, seed=6)
    wait_for("multivariate drift", lambda: drift(kube) == ("True", "MultivariateDrift"))
    status = kube.status("watch")["drift"]
    assert status["multivariate"]["drifted"] is True
    # A decided crossing restarts the detectors: the evidence starts again from 0.
    assert 0 <= status["multivariate"]["evidence"] < status["multivariate"]["threshold"]
    assert status["multivariate"]["effect"] > 0.1
    assert not any(f["drifted"] for f in status["features"])  # no marginal moved
    assert status["prediction"]["drifted"] is False
    assert len(kube.events("DriftDetected")) == 1

    page = scrape(f"http://127.0.0.1:{operator.port}/metrics")
    labels = {"namespace": kube.namespace, "monitor": "watch"}
    (evidence,) = [
        s for s in samples(page, "kubedrift_monitor_multivariate_evidence") if s.labels == labels
    ]
    assert 0 <= evidence.value < status["multivariate"]["threshold"]
    condition = {**labels, "condition": "DriftDetected", "status": "True"}
    assert metric(page, "kubedrift_monitor_condition", **condition) == 1.0
