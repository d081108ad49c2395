"""Segments: per-segment references, the split of traffic, one engine per segment, the budget."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from kubedrift.stats.baseline import Baseline, BaselineError, build_baseline
from kubedrift.stats.engine.contract import Contract
from kubedrift.stats.engine.segmented import SegmentDecision, SegmentSessions
from kubedrift.stats.engine.session import Session
from kubedrift.stats.engine.tally import Tally
from kubedrift.stats.segments import (
    MAX_SEGMENTS,
    MIN_SEGMENT_ROWS,
    SegmentSelection,
    segment_baseline,
    segment_window_settings,
    split_contract,
    split_rows,
)
from kubedrift.stats.settings import EvaluationSettings, WindowSettings
from kubedrift.stats.window import Window

Columns = dict[str, npt.NDArray[Any]]
COUNTRIES = ("de", "fr", "it", "es")
SHARES = (0.4, 0.3, 0.2, 0.1)


def training(rows: int = 20_000, seed: int = 0) -> Columns:
    rng = np.random.default_rng(seed)
    country = rng.choice(COUNTRIES, rows, p=SHARES)
    # Each country has its own mean: a segment's reference is not the whole's.
    offset = np.select([country == c for c in COUNTRIES], [0.0, 1.0, -1.0, 2.0])
    return {
        "x": rng.normal(size=rows) + offset,
        "y": rng.normal(size=rows),
        "country": country,
    }


def segmented(top: int = 3) -> Baseline:
    columns = training()
    return segment_baseline(build_baseline(columns), columns, "country", top=top)


# -- the baseline ---------------------------------------------------------------------------


def test_the_most_frequent_values_get_their_own_profiles_without_the_segment_feature() -> None:
    baseline = segmented(top=3)
    assert baseline.segments is not None
    assert baseline.segments.feature == "country"
    assert baseline.segments.values == ("de", "fr", "it")
    italy = baseline.segments.baseline("it")
    assert italy is not None
    assert italy.feature_names == ("x", "y")
    assert italy.rows == int((training()["country"] == "it").sum())
    # Italy's reference is Italy's rows: its mean is about -1, the whole's about 0.6.
    assert italy.feature("x").mean == pytest.approx(-1.0, abs=0.05)


def test_segments_survive_the_json_round_trip() -> None:
    baseline = segmented()
    assert Baseline.from_json(baseline.to_json()) == baseline


def test_values_with_too_few_training_rows_are_not_profiled() -> None:
    rng = np.random.default_rng(1)
    columns = {
        "x": rng.normal(size=2_050),
        "tier": np.array(["gold"] * 1_950 + ["rare"] * (MIN_SEGMENT_ROWS - 1) + ["one"]),
    }
    baseline = segment_baseline(build_baseline(columns), columns, "tier", top=5)
    assert baseline.segments is not None
    assert baseline.segments.values == ("gold",)
    with pytest.raises(BaselineError, match="rare of 'tier' have fewer than 100 training rows"):
        segment_baseline(build_baseline(columns), columns, "tier", values=["gold", "rare"])


def test_a_baseline_holds_at_most_twenty_segments_whatever_the_feature_holds() -> None:
    rng = np.random.default_rng(2)
    shop = np.repeat([f"shop-{i:02d}" for i in range(30)], 150)
    columns = {"x": rng.normal(size=shop.size), "shop": shop}
    base = build_baseline(columns, categorical=["shop"])
    assert segment_baseline(base, columns, "shop", top=MAX_SEGMENTS).segments is not None
    with pytest.raises(BaselineError, match="top must be between 1 and 20"):
        segment_baseline(base, columns, "shop", top=MAX_SEGMENTS + 1)
    with pytest.raises(BaselineError, match="at most 20 values, got 21"):
        segment_baseline(base, columns, "shop", values=[f"shop-{i:02d}" for i in range(21)])


def test_the_segment_feature_must_be_a_categorical_feature_of_the_baseline() -> None:
    columns = training(2_000)
    base = build_baseline(columns)
    with pytest.raises(BaselineError, match="'x' must be categorical"):
        segment_baseline(base, columns, "x")
    with pytest.raises(BaselineError, match="'region' is not a feature"):
        segment_baseline(base, columns, "region")


def test_segment_profiles_fit_the_configmap_easily() -> None:
    # Ten numeric features, ten segments: the samples share the parent's budget.
    rng = np.random.default_rng(3)
    rows = 50_000
    columns: Columns = {f"f{i}": rng.normal(size=rows) for i in range(10)}
    columns["shop"] = rng.choice([f"s{i}" for i in range(10)], rows)
    plain = build_baseline(columns)
    baseline = segment_baseline(plain, columns, "shop", top=10)
    # Measured: 64 KB without segments, 176 KB with ten.
    assert len(plain.to_json()) < 80_000
    assert len(baseline.to_json()) < 200_000


# -- splitting traffic ----------------------------------------------------------------------


def test_rows_of_other_values_and_missing_values_are_not_segmented() -> None:
    baseline = segmented(top=2)
    assert baseline.segments is not None
    rows = {
        "x": np.arange(6.0),
        "y": np.zeros(6),
        "country": np.array(["de", "fr", "it", None, "de", "xx"], dtype=object),
    }
    parts = split_rows(baseline.segments, rows, np.arange(6))
    assert sorted(parts) == ["de", "fr"]
    de_rows, de_predictions, _ = parts["de"]
    assert sorted(de_rows) == ["x", "y"]
    assert de_rows["x"].tolist() == [0.0, 4.0]
    assert de_predictions is not None and de_predictions.tolist() == [0, 4]
    assert split_rows(baseline.segments, {"x": np.arange(3.0)}) == {}


# -- the budget -----------------------------------------------------------------------------


def test_the_monitor_and_its_segments_split_the_budget_in_halves() -> None:
    stated = Contract(30 * 86400.0, 30.0)
    monitor, each = split_contract(stated, 4)
    assert monitor.mean_time_between_false_alarms == 2 * stated.mean_time_between_false_alarms
    assert each.mean_time_between_false_alarms == 8 * stated.mean_time_between_false_alarms
    # Rates add up: the monitor's 1/(2T) and four segments' 1/(8T) each make 1/T.
    rates = 1 / monitor.mean_time_between_false_alarms + 4 / each.mean_time_between_false_alarms
    assert rates == pytest.approx(1 / stated.mean_time_between_false_alarms)
    assert each.threshold(100) == pytest.approx(stated.threshold(100) + math.log(8))


def test_each_segment_engine_runs_at_its_share_of_the_budget() -> None:
    baseline = segmented(top=3)
    stated = Contract(30 * 86400.0, 30.0)
    sessions = SegmentSessions(
        baseline, EvaluationSettings(), stated, SegmentSelection("country", top=3)
    )
    assert baseline.segments is not None
    for value, session in sessions.sessions.items():
        reference = baseline.segments.baseline(value)
        assert reference is not None
        engine = session.engine
        expected = stated.threshold(engine.plan.budget) + math.log(2 * 3)
        assert engine.threshold == pytest.approx(expected)


# -- selection ------------------------------------------------------------------------------


def test_selection_takes_the_top_values_or_the_listed_ones_and_names_the_unknown() -> None:
    baseline = segmented(top=3)
    assert SegmentSelection("country", top=2).chosen(baseline) == (("de", "fr"), ())
    assert SegmentSelection("country", top=20).chosen(baseline) == (("de", "fr", "it"), ())
    assert SegmentSelection("country", values=("it", "es", "pt")).chosen(baseline) == (
        ("it",),
        ("es", "pt"),
    )
    assert SegmentSelection("region", top=2).chosen(baseline) == ((), ())


# -- detection ------------------------------------------------------------------------------


def run_segments(
    baseline: Baseline, steps: int, shifted: str | None, seed: int
) -> list[tuple[SegmentDecision, ...]]:
    """``steps`` rounds of 400 rows each (30 s apart); from step 20 on, the segment
    ``shifted`` sees its x move by one sd. Each segment's windows and tallies are built from its
    own rows, as the sidecar's keeper builds them."""
    assert baseline.segments is not None
    settings = EvaluationSettings(window=WindowSettings(samples=2_000, min_samples=200))
    sessions = SegmentSessions(
        baseline, settings, Contract(30 * 86400.0, 30.0), SegmentSelection("country", top=3)
    )
    window_settings = segment_window_settings(settings.window)
    references = dict(zip(baseline.segments.values, baseline.segments.baselines, strict=True))
    windows = {v: Window(b, window_settings, seed=seed, start=0.0) for v, b in references.items()}
    tallies = {v: Tally.empty(windows[v].profiles) for v in references}
    rng = np.random.default_rng(seed)
    offsets = dict(zip(COUNTRIES, (0.0, 1.0, -1.0, 2.0), strict=True))
    history = []
    for step in range(steps):
        country = rng.choice(COUNTRIES, 400, p=SHARES)
        x = rng.normal(size=400) + np.array([offsets[c] for c in country])
        if shifted is not None and step >= 20:
            x[country == shifted] += 1.0
        rows = {"x": x, "y": rng.normal(size=400), "country": country}
        for value, (part, _, _) in split_rows(baseline.segments, rows).items():
            increment = Window(references[value], window_settings, start=0.0)
            increment.update(part)
            tallies[value] = tallies[value] + Tally.of_window(increment)
            if windows[value].samples >= settings.window.samples:
                windows[value] = Window(references[value], window_settings, start=0.0)
            windows[value].update(part)
        history.append(
            sessions.decide(
                {v: {"pod": tallies[v]} for v in references},
                dict(windows),
                now=30.0 * step,
            )
        )
    return history


def test_a_drift_confined_to_one_segment_alarms_that_segment_only() -> None:
    history = run_segments(segmented(top=3), steps=60, shifted="it", seed=7)
    drifted = {
        segment.value: next(
            (step for step, decided in enumerate(history) if decided[i].drifted), None
        )
        for i, segment in enumerate(history[0])
    }
    assert drifted["de"] is None
    assert drifted["fr"] is None
    # The shift starts at step 20: about 80 Italian rows a step, one sd away, cross at once.
    assert drifted["it"] is not None and 20 <= drifted["it"] < 25
    last = {segment.value: segment for segment in history[-1]}
    assert last["it"].verdict == "drift"
    assert last["it"].decision is not None and last["it"].decision.drifted == ("x",)
    assert last["de"].verdict == "ok"


def test_no_change_raises_no_segment_alarm() -> None:
    history = run_segments(segmented(top=3), steps=120, shifted=None, seed=11)
    assert not any(segment.drifted for decided in history for segment in decided)
    assert [segment.verdict for segment in history[-1]] == ["ok", "ok", "ok"]


def test_a_segment_starts_without_data_and_a_listed_value_without_profile_is_not_judged() -> None:
    baseline = segmented(top=3)
    sessions = SegmentSessions(
        baseline,
        EvaluationSettings(),
        Contract(30 * 86400.0, 30.0),
        SegmentSelection("country", values=("fr", "es")),
    )
    decided = sessions.decide({}, {}, now=0.0)
    assert [(s.value, s.verdict) for s in decided] == [("fr", "nodata"), ("es", "noreference")]
    assert decided[1].to_dict()["threshold"] is None


def test_renewing_with_the_same_inputs_keeps_the_segment_engines() -> None:
    baseline = segmented(top=3)
    settings, contract = EvaluationSettings(), Contract(30 * 86400.0, 30.0)
    sessions = SegmentSessions(baseline, settings, contract, SegmentSelection("country", top=3))
    assert sessions.renewed(baseline, settings, contract, SegmentSelection("country", top=3)) is (
        sessions
    )
    fewer = sessions.renewed(baseline, settings, contract, SegmentSelection("country", top=2))
    assert list(fewer.sessions) == ["de", "fr"]
    # Fewer segments, a larger share each: new engines over the same Pods' tallies.
    assert isinstance(fewer.sessions["de"], Session)
    assert fewer.sessions["de"].increments is sessions.sessions["de"].increments
