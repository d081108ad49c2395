"""Segments across replicas: each sidecar splits its rows per segment in ``/v1/window``, the
operator merges each segment's windows and tallies over the Pods and steps each segment's
engine once per row; the status and the ``kubedrift_monitor_segment_*`` gauges show it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry

from kubedrift.api.spec import parse_spec
from kubedrift.controller.evaluated_status import evaluated_status
from kubedrift.controller.observation import merge_reports, observation_from
from kubedrift.controller.operator_metrics import make_metrics
from kubedrift.sidecar.windows import PodIdentity, WindowKeeper
from kubedrift.stats.baseline import Baseline, build_baseline
from kubedrift.stats.engine.contract import Contract
from kubedrift.stats.engine.segmented import SegmentSessions
from kubedrift.stats.segments import SegmentSelection, segment_baseline
from kubedrift.stats.settings import EvaluationSettings, WindowSettings

SETTINGS = EvaluationSettings(window=WindowSettings(samples=5_000, min_samples=100))


def baseline() -> Baseline:
    rng = np.random.default_rng(0)
    shop = rng.choice(["a", "b", "c"], 9_000)
    columns = {"x": rng.normal(size=9_000) + (shop == "c"), "shop": shop}
    return segment_baseline(build_baseline(columns), columns, "shop", top=3)


def traffic(rows: int, seed: int, shifted: str | None = None) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    shop = rng.choice(["a", "b", "c"], rows)
    x = rng.normal(size=rows) + (shop == "c") + np.where(shop == shifted, 1.0, 0.0)
    return {"x": x, "shop": shop}


def reports(keepers: list[WindowKeeper], now: float) -> list[dict[str, Any]]:
    return [
        keeper.to_dict(PodIdentity(f"pod-{i}", "ns", None, 0.0), now)
        for i, keeper in enumerate(keepers)
    ]


def test_each_segment_merges_over_the_pods_and_counts_each_row_once() -> None:
    reference = baseline()
    keepers = [WindowKeeper(reference, SETTINGS.window, now=0.0, seed=i) for i in range(2)]
    keepers[0].update(traffic(300, seed=1), None, 1.0)
    keepers[1].update(traffic(500, seed=2), None, 1.0)
    merged = merge_reports(reports(keepers, 2.0), reference, SETTINGS)
    assert sorted(merged.segments) == ["a", "b", "c"]
    assert sum(part.reporting for part in merged.segments.values()) == 6
    rows = {v: part.current.samples for v, part in merged.segments.items() if part.current}
    assert sum(rows.values()) == 800
    shops = np.concatenate([traffic(300, seed=1)["shop"], traffic(500, seed=2)["shop"]])
    assert rows == {v: int((shops == v).sum()) for v in ("a", "b", "c")}
    # The tallies are per Pod, so the engine takes each Pod's increment.
    assert sorted(merged.segments["a"].tallies) == ["pod-0", "pod-1"]

    sessions = SegmentSessions(
        reference, SETTINGS, Contract(30 * 86400.0, 30.0), SegmentSelection("shop", top=3)
    )
    observation = observation_from(merged, 2, reference, SETTINGS, None, 30.0, sessions)
    assert {s.value: s.samples for s in observation.segments} == rows
    # Read again with nothing new: no row enters a segment's engine twice.
    again = merge_reports(reports(keepers, 3.0), reference, SETTINGS)
    for value, session in sessions.sessions.items():
        increment = session.increments.take(again.segments[value].tallies)
        assert increment is not None and increment.samples == 0


def test_a_shift_in_one_shop_on_both_replicas_reaches_status_and_metrics() -> None:
    reference = baseline()
    keepers = [WindowKeeper(reference, SETTINGS.window, now=0.0, seed=i) for i in range(2)]
    spec = parse_spec(
        {
            "target": {"deployment": "m", "port": 8080},
            "baseline": {"configMapRef": {"name": "b"}},
            "segments": {"feature": "shop", "top": 3},
        }
    )
    sessions = SegmentSessions(
        reference, SETTINGS, Contract(30 * 86400.0, 30.0), SegmentSelection("shop", top=3)
    )
    observation = None
    for step in range(12):
        for i, keeper in enumerate(keepers):
            keeper.update(traffic(150, seed=10 * step + i, shifted="b"), None, 30.0 * step)
        merged = merge_reports(reports(keepers, 30.0 * step + 1), reference, SETTINGS)
        observation = observation_from(merged, 2, reference, SETTINGS, None, 30.0 * step, sessions)
    assert observation is not None
    status = evaluated_status({}, observation, spec, generation=1, now=datetime.now(UTC))
    entries = {entry["value"]: entry for entry in status["segments"]}
    assert (entries["b"]["verdict"], entries["b"]["driftedFeatures"]) == ("drift", ["x"])
    assert (entries["a"]["verdict"], entries["c"]["verdict"]) == ("ok", "ok")
    assert sum(entry["samples"] for entry in entries.values()) == 12 * 300

    registry = CollectorRegistry()
    metrics = make_metrics(registry)
    assert metrics.segments is not None
    metrics.segments.record(
        "ns",
        "m",
        [
            (s.value, s.drifted, s.degraded, s.evidence, s.samples, None)
            for s in observation.segments
        ],
    )

    def drifted(segment: str) -> float | None:
        labels = {"namespace": "ns", "monitor": "m", "segment": segment}
        return registry.get_sample_value("kubedrift_monitor_segment_drifted", labels)

    assert (drifted("a"), drifted("b"), drifted("c")) == (0.0, 1.0, 0.0)
    # A segment no longer judged loses its series; a deleted monitor loses them all.
    metrics.segments.record("ns", "m", [("b", True, False, 1.0, 10, None)])
    assert (drifted("a"), drifted("b")) == (None, 1.0)
    metrics.forget("ns", "m")
    assert drifted("b") is None


def test_a_baseline_without_the_segments_is_named_in_the_ready_message() -> None:
    plain = build_baseline({"x": np.random.default_rng(0).normal(size=500)})
    spec = parse_spec(
        {
            "target": {"deployment": "m", "port": 8080},
            "baseline": {"configMapRef": {"name": "b"}},
            "segments": {"feature": "shop"},
        }
    )
    sessions = SegmentSessions(
        plain, SETTINGS, Contract(30 * 86400.0, 30.0), SegmentSelection("shop", top=5)
    )
    merged = merge_reports([], plain, SETTINGS)
    observation = observation_from(merged, 1, plain, SETTINGS, None, 0.0, sessions)
    status = evaluated_status({}, observation, spec, generation=1, now=datetime.now(UTC))
    (ready,) = [c for c in status["conditions"] if c["type"] == "Ready"]
    assert ready["status"] == "True"
    assert ready["message"].endswith(
        "no segments judged: the baseline profiles no segments of shop "
        "(kubedrift baseline build --segment shop)"
    )
    assert "segments" not in status
