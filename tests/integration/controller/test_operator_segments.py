"""Segments on the real control plane: two replicas split their traffic by shop, the operator
merges each shop's windows and tallies across them, and a shift confined to one shop reaches
that shop's entry of ``status.segments`` and its ``kubedrift_monitor_segment_*`` series only."""

from __future__ import annotations

from typing import Any

import numpy as np

from kubedrift.stats.baseline import Baseline, build_baseline
from kubedrift.stats.segments import segment_baseline
from support.cluster_waiting import wait_for
from support.controller_harness import (
    current_pod_ips,
    model_deployment,
    model_monitor,
    samples,
    scrape,
)
from support.json_post import post

SHOPS = (1, 2, 3)


def shops_baseline() -> Baseline:
    rng = np.random.default_rng(1)
    shop = rng.choice(SHOPS, 6000)
    x = rng.normal(size=6000) + (shop == 3)  # shop 3 sells bigger: its own reference
    columns = {"x": x, "shop": shop, "pred": (x > 0).astype(np.int64)}
    return segment_baseline(build_baseline(columns, prediction="pred"), columns, "shop", top=3)


def send(ips: list[str], *, rows: int, seed: int, shifted_shop: int | None = None) -> None:
    """``rows`` single-row OIP v2 requests with inputs ``x`` and ``shop``, alternating between
    the replicas; ``shifted_shop``'s x is 1.5 sd higher than in training."""
    rng = np.random.default_rng(seed)
    for index in range(rows):
        shop = int(rng.choice(SHOPS))
        x = float(rng.normal()) + (shop == 3) + (1.5 if shop == shifted_shop else 0.0)
        post(
            f"http://{ips[index % len(ips)]}:8480/v2/models/demo/infer",
            {
                "inputs": [
                    {"name": "x", "shape": [1], "datatype": "FP64", "data": [x]},
                    {"name": "shop", "shape": [1], "datatype": "INT64", "data": [shop]},
                ]
            },
        )


def segments(kube: Any) -> dict[str, dict[str, Any]]:
    return {entry["value"]: entry for entry in kube.status("watch").get("segments") or []}


def test_a_shift_in_one_shop_alarms_that_segment_only_across_two_replicas(
    kube: Any, operator: Any
) -> None:
    baseline = shops_baseline()
    assert baseline.segments is not None and sorted(baseline.segments.values) == ["1", "2", "3"]
    kube.create_baseline("model-baseline", baseline.to_json())
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model", replicas=2))
    body = model_monitor("watch", "model")
    del body["spec"]["performance"]
    body["spec"]["segments"] = {"feature": "shop", "top": 3}
    kube.create_monitor(body)

    def both_replicas() -> list[str] | None:
        ips = current_pod_ips(kube, "1")
        return ips if ips and len(ips) == 2 else None

    ips = wait_for("two ready Pods with the sidecar", both_replicas)

    send(ips, rows=600, seed=5)

    def calm() -> bool:
        found = segments(kube)
        # Each shop's rows of both replicas, merged: every row in exactly one shop.
        return (
            sorted(found) == ["1", "2", "3"]
            and all(s["verdict"] == "ok" for s in found.values())
            and sum(s["samples"] for s in found.values()) == 600
        )

    wait_for("every row in its shop and every shop judged ok", calm)

    send(ips, rows=600, seed=6, shifted_shop=2)

    def shop_two_drifted() -> bool:
        found = segments(kube)
        return found["2"]["drifted"] and sum(s["samples"] for s in found.values()) == 1200

    wait_for("shop 2 drifted, every row counted", shop_two_drifted)
    found = segments(kube)
    assert found["2"]["verdict"] == "drift"
    assert "x" in found["2"]["driftedFeatures"]
    assert found["2"]["evidenceThreshold"] > kube.status("watch")["drift"]["evidenceThreshold"]
    assert (found["1"]["drifted"], found["3"]["drifted"]) == (False, False)
    assert (found["1"]["verdict"], found["3"]["verdict"]) == ("ok", "ok")

    page = scrape(f"http://127.0.0.1:{operator.port}/metrics")
    drifted = {
        s.labels["segment"]: s.value
        for s in samples(page, "kubedrift_monitor_segment_drifted")
        if s.labels["monitor"] == "watch" and s.labels["namespace"] == kube.namespace
    }
    assert drifted == {"1": 0.0, "2": 1.0, "3": 0.0}
    rows = {
        s.labels["segment"]: s.value
        for s in samples(page, "kubedrift_monitor_segment_samples")
        if s.labels["monitor"] == "watch" and s.labels["namespace"] == kube.namespace
    }
    assert sum(rows.values()) == 1200
