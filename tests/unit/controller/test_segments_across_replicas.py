"""Segments across replicas: each sidecar splits its rows per segment in ``/v1/window``, the
operator merges each segment's windows and tallies over the Pods and steps each segment's
engine once per row; the status and the ``kubedrift_monitor_segment_*`` gauges show it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from kubedrift.api.spec import parse_spec
from kubedrift.controller.evaluated_status import evaluated_status
from kubedrift.controller.observation import merge_reports, observation_from
from kubedrift.controller.operator_metrics import make_metrics
from kubedrift.sidecar.windows import PodIdentity, WindowKeeper
from kubedrift.stats.baseline import Baseline, build_baseline
from kubedrift.stats.engine.contract import Contract
from kubedrift.stats.engine.segmented import SegmentSessions
from kubedrift.stats.segments import SegmentSelection, segment_baseline, segment_references
from kubedrift.stats.settings import EvaluationSettings, WindowSettings
from kubedrift.stats.window_plan import shared_plan

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


def calibrated_baseline() -> Baseline:
    """Two shops of one binary classifier whose score ``p`` is calibrated (``y ~ p``)."""
    rng = np.random.default_rng(3)
    p = rng.uniform(size=8_000)
    columns = {
        "x": rng.normal(size=p.size),
        "shop": rng.choice(["a", "b"], p.size),
        "p": p,
        "pred": (p >= 0.5).astype(int),
        "y": (rng.uniform(size=p.size) < p).astype(int),
    }
    built = build_baseline(
        columns, features=["x", "shop"], prediction="pred", label="y", probabilities=["p"]
    )
    return segment_baseline(built, columns, "shop", top=2)


def test_each_segment_estimates_its_own_performance_without_labels() -> None:
    reference = calibrated_baseline()
    assert reference.calibration is not None
    # The profiles store no calibration: the segments' windows take the monitor's.
    assert reference.segments is not None
    assert all(b.calibration is None for b in reference.segments.baselines)
    keepers = [WindowKeeper(reference, SETTINGS.window, now=0.0, seed=i) for i in range(2)]
    rng = np.random.default_rng(4)
    for keeper in keepers:
        shop = rng.choice(["a", "b"], 2_000)
        # Shop a's scores spread over [0, 1] (expected accuracy E max(p, 1 - p) = 0.75), shop
        # b's sit near the boundary, in [0.4, 0.6] (0.55): no label needed to see b is worse.
        p = np.where(shop == "a", rng.uniform(size=shop.size), rng.uniform(0.4, 0.6, shop.size))
        predictions = (p >= 0.5).astype(int).astype(str).astype(object)
        rows = {"x": rng.normal(size=shop.size), "shop": shop}
        keeper.update(rows, predictions, 1.0, probabilities=p[:, None])
    merged = merge_reports(reports(keepers, 2.0), reference, SETTINGS)
    sessions = SegmentSessions(
        reference, SETTINGS, Contract(30 * 86400.0, 30.0), SegmentSelection("shop", top=2)
    )
    observation = observation_from(merged, 2, reference, SETTINGS, None, 30.0, sessions)
    spec = parse_spec(
        {
            "target": {"deployment": "m", "port": 8080},
            "baseline": {"configMapRef": {"name": "b"}},
            "segments": {"feature": "shop", "top": 2},
        }
    )
    status = evaluated_status({}, observation, spec, generation=1, now=datetime.now(UTC))
    entries = {entry["value"]: entry for entry in status["segments"]}
    estimated = {value: entry["estimatedPerformance"] for value, entry in entries.items()}
    # Every row of both Pods is estimated once, in its own shop.
    assert estimated["a"]["rows"] + estimated["b"]["rows"] == 4_000
    assert estimated["a"]["rows"] == entries["a"]["samples"]
    assert estimated["a"]["labeled"] == 0 and "realized" not in estimated["a"]["accuracy"]
    # Tolerance: the calibration map's steps and ~2,000 rows per shop, well under 0.03.
    assert estimated["a"]["accuracy"]["value"] == pytest.approx(0.75, abs=0.03)
    assert estimated["b"]["accuracy"]["value"] == pytest.approx(0.55, abs=0.03)
    for entry in estimated.values():
        band = entry["accuracy"]
        assert band["lowerBound"] <= band["value"] <= band["upperBound"]
    # The monitor's own estimate covers both shops.
    assert status["estimatedPerformance"]["rows"] == 4_000
    # The backtest's evaluations[].segments[] carry the same estimate.
    backtest = {s.value: s.to_dict()["estimated_performance"] for s in observation.segments}
    assert backtest["b"]["accuracy"]["value"] == pytest.approx(
        estimated["b"]["accuracy"]["value"], abs=1e-4
    )
    assert backtest["b"]["rows"] == estimated["b"]["rows"]

    registry = CollectorRegistry()
    metrics = make_metrics(registry)
    assert metrics.segments is not None
    metrics.segments.record_estimates(
        "ns",
        "m",
        {
            s.value: {
                name: (e.estimate.value, e.estimate.lower, e.estimate.upper)
                for name, e in s.estimated.items()
            }
            for s in observation.segments
        },
    )

    def accuracy(segment: str, bound: str) -> float | None:
        labels = {"namespace": "ns", "monitor": "m", "segment": segment}
        return registry.get_sample_value(
            "kubedrift_monitor_segment_estimated_metric",
            {**labels, "metric": "accuracy", "bound": bound},
        )

    assert accuracy("b", "value") == pytest.approx(estimated["b"]["accuracy"]["value"], abs=1e-4)
    # A segment without estimates in a round loses its series.
    metrics.segments.record_estimates("ns", "m", {})
    assert accuracy("b", "value") is None


def test_rows_without_one_probability_row_each_give_the_segments_no_estimate() -> None:
    reference = calibrated_baseline()
    keeper = WindowKeeper(reference, SETTINGS.window, now=0.0, seed=0)
    rows = {"x": np.zeros(10), "shop": np.array(["a", "b"] * 5)}
    keeper.update(rows, None, 1.0, probabilities=np.full((4, 1), 0.7))
    # The monitor's window takes them; which segment each belongs to is unknown.
    assert keeper.current.estimation is not None and keeper.current.estimation.rows == 4
    for segment in keeper.segments.values():
        assert segment.current.estimation is not None and segment.current.estimation.rows == 0


def test_a_round_reads_the_same_without_the_windows_labeled_rows() -> None:
    reference = calibrated_baseline()
    keeper = WindowKeeper(reference, SETTINGS.window, now=0.0, seed=0)
    rng = np.random.default_rng(5)
    shop = rng.choice(["a", "b"], 600)
    p = rng.uniform(size=shop.size)
    predictions = (p >= 0.5).astype(int).astype(str).astype(object)
    labels = (rng.uniform(size=p.size) < p).astype(int).astype(str).astype(object)
    rows = {"x": rng.normal(size=shop.size), "shop": shop}
    keeper.update(rows, predictions, 1.0, probabilities=p[:, None])
    keeper.add_labeled(predictions, labels, rows, 1.0)
    pod = PodIdentity("pod-0", "ns", None, 0.0)
    full, lean = keeper.to_dict(pod, 2.0), keeper.to_dict(pod, 2.0, labeled_rows=False)
    assert len(full["current"]["labeled_rows"]["rows"]) == 600
    assert "labeled_rows" not in lean["current"]
    assert "labeled_rows" not in lean["segments"]["a"]["current"]
    views = [merge_reports([report], reference, SETTINGS) for report in (full, lean)]
    assert views[0].current is not None and views[1].current is not None
    assert views[1].current.labeled_rows() == []
    # Everything a round judges is the same: counts, labels, estimation sums, segments.
    assert views[0].current.to_dict(labeled_rows=False) == views[1].current.to_dict(
        labeled_rows=False
    )
    assert {v: s.current.samples for v, s in views[0].segments.items() if s.current} == {
        v: s.current.samples for v, s in views[1].segments.items() if s.current
    }


def test_every_round_reuses_the_segment_references_and_window_plans_of_a_baseline() -> None:
    reference = calibrated_baseline()
    first, again = segment_references(reference), segment_references(reference)
    assert first is again  # the same objects round after round: built per reference once
    assert all(shared_plan(b) is shared_plan(b) for b in first.values())
    # An equal baseline that is another object gets its own (it may be a new rollout's).
    other = Baseline.from_json(reference.to_json())
    assert segment_references(other) is not first
    assert segment_references(other)["a"] == first["a"]
