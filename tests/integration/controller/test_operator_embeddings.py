"""An embedding block on the real control plane: a 768-wide input tensor is judged through its
principal components, norm and reconstruction error, and a shift along a direction the training
embeddings hardly vary in reaches the monitor's status, its condition and the operator's metrics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from kubedrift.stats.baseline import build_baseline
from kubedrift.stats.baseline_size import MAX_BASELINE_BYTES
from support.cluster_waiting import wait_for
from support.controller_harness import (
    current_pod_ips,
    model_deployment,
    model_monitor,
    samples,
    scrape,
)
from support.json_post import post

WIDTH = 768
Matrix = npt.NDArray[np.float64]


class Embeddings:
    """Four latent factors plus isotropic noise; ``low`` is orthogonal to every factor."""

    def __init__(self) -> None:
        rng = np.random.default_rng(7)
        self.factors = rng.normal(size=(WIDTH, 4)) * np.array([3, 2, 1.5, 1.0]) * 6 / WIDTH**0.5
        basis, _ = np.linalg.qr(np.column_stack([self.factors, rng.normal(size=WIDTH)]))
        self.low = basis[:, 4]

    def draw(self, rng: np.random.Generator, n: int, shift: float = 0.0) -> Matrix:
        rows: Matrix = rng.normal(size=(n, 4)) @ self.factors.T
        return rows + 0.3 * rng.normal(size=(n, WIDTH)) + shift * self.low


MODEL = Embeddings()


def send(ips: list[str], *, rows: int, seed: int, shift: float = 0.0) -> None:
    """``rows`` single-row OIP v2 requests: ``x`` (which the model reads) and a ``[1, 768]``
    tensor ``text``."""
    rng = np.random.default_rng(seed)
    xs = rng.normal(size=rows)
    vectors = MODEL.draw(rng, rows, shift)
    for index in range(rows):
        post(
            f"http://{ips[index % len(ips)]}:8480/v2/models/demo/infer",
            {
                "inputs": [
                    {"name": "x", "shape": [1], "datatype": "FP64", "data": [xs[index]]},
                    {
                        "name": "text",
                        "shape": [1, WIDTH],
                        "datatype": "FP32",
                        "data": vectors[index].round(5).tolist(),
                    },
                ]
            },
        )


def drift(kube: Any) -> tuple[str, str] | None:
    return kube.condition("watch", "DriftDetected")


def test_a_shifted_embedding_is_reported_as_embedding_drift_by_the_operator(
    kube: Any, operator: Any
) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=4000)
    baseline = build_baseline(
        {"x": x, "text": MODEL.draw(rng, 4000), "pred": (x > 0).astype(np.int64)},
        prediction="pred",
    )
    assert [b.name for b in baseline.embeddings] == ["text"]
    assert len(baseline.to_json()) < MAX_BASELINE_BYTES / 5
    kube.create_baseline("model-baseline", baseline.to_json())
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model"))
    body = model_monitor("watch", "model")
    del body["spec"]["performance"]
    kube.create_monitor(body)
    ips = wait_for("a ready Pod with the sidecar", lambda: current_pod_ips(kube, "1"))

    send(ips, rows=200, seed=5)
    wait_for("a calm verdict", lambda: drift(kube) == ("False", "NoDrift"))
    (calm,) = kube.status("watch")["drift"]["embeddings"]
    assert (calm["name"], calm["drifted"], calm["signals"]) == ("text", False, [])
    assert calm["evidence"] < calm["threshold"]
    assert [f["name"] for f in kube.status("watch")["drift"]["features"]] == ["x"]

    send(ips, rows=400, seed=6, shift=3.0)
    wait_for("embedding drift", lambda: drift(kube) == ("True", "EmbeddingDrift"))
    status = kube.status("watch")["drift"]
    (block,) = status["embeddings"]
    assert block["drifted"] is True
    assert "reconstruction-error" in block["signals"]
    assert block["effect"] > 0.1
    assert not any(f["drifted"] for f in status["features"])
    assert len(kube.events("DriftDetected")) == 1

    page = scrape(f"http://127.0.0.1:{operator.port}/metrics")
    labels = {"namespace": kube.namespace, "monitor": "watch", "embedding": "text"}
    (evidence,) = [
        s for s in samples(page, "kubedrift_monitor_embedding_evidence") if s.labels == labels
    ]
    assert evidence.value >= 0
