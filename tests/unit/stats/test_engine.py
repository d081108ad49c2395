"""The decision engine as the operator runs it: seeded streams, exact alarm steps.

Each test feeds an :class:`Engine` what a sidecar would report: per step the increment of its
cumulative counts and the window users read (a sidecar's current window, rotated by
``window.samples``). Streams are seeded, so the steps at which alarms rise and clear are exact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from kubedrift.stats.baseline import Baseline, build_baseline
from kubedrift.stats.engine import Contract, Decision, Engine, Tally
from kubedrift.stats.engine.increments import Increments
from kubedrift.stats.engine.plan import DATA_QUALITY_WEIGHT
from kubedrift.stats.settings import (
    DriftSettings,
    EvaluationSettings,
    FeatureOverride,
    PerformanceSettings,
    WindowSettings,
)
from kubedrift.stats.window import Window

DAY = 86400.0
Rows = Callable[[np.random.Generator, int, int], Mapping[str, npt.NDArray[np.float64]]]


def numeric_baseline(features: int = 1, rows: int = 20_000, seed: int = 0) -> Baseline:
    rng = np.random.default_rng(seed)
    return build_baseline({f"x{i}": rng.normal(size=rows) for i in range(features)})


@dataclass
class Sidecar:
    """A sidecar's windows for a test: increments and the window users read."""

    baseline: Baseline
    settings: WindowSettings
    window: Window = field(init=False)

    def __post_init__(self) -> None:
        self.window = Window(self.baseline, self.settings, start=0.0)

    def feed(self, rows: Mapping[str, npt.NDArray[Any]], now: float) -> Tally:
        if self.window.is_full(now):
            self.window = Window(self.baseline, self.settings, start=now)
        increment = Window(self.baseline, self.settings, start=now)
        increment.update(rows, now=now)
        self.window.update(rows, now=now)
        return Tally.of_window(increment)


def run(engine: Engine, rows: Rows, steps: int, per_step: int, seed: int = 1) -> list[Decision]:
    rng = np.random.default_rng(seed)
    sidecar = Sidecar(engine.baseline, engine.settings.window)
    decisions = []
    for step in range(steps):
        now = engine.contract.interval * step
        increment = sidecar.feed(rows(rng, step, per_step), now)
        decisions.append(engine.step(increment, sidecar.window, now=now))
    return decisions


def first(decisions: list[Decision], status: str = "True") -> int:
    return next(i for i, d in enumerate(decisions) if d.drift.status == status)


def first_alarm(decisions: list[Decision], feature: str) -> int:
    """The step at which ``feature``'s own drift alarm rose (the monitor's condition also needs
    ``driftShare`` of its features)."""
    return next(i for i, d in enumerate(decisions) if feature in d.drifted)


def shifted(change_at: int, shift: float, features: int = 1, scale: float = 1.0) -> Rows:
    def rows(rng: np.random.Generator, step: int, n: int) -> dict[str, npt.NDArray[np.float64]]:
        moved = step >= change_at
        return {
            f"x{i}": rng.normal(shift if (moved and i == 0) else 0.0, scale if moved else 1.0, n)
            for i in range(features)
        }

    return rows


def test_the_threshold_is_the_log_of_the_budget_shared_by_every_alternative() -> None:
    engine = Engine(numeric_baseline(), EvaluationSettings(), Contract(30 * DAY, 30.0))
    # 12 location and 8 spread tilts less the 5 that move the distribution by less than the
    # 5-point floor (location +-1/16, spread +-1/8 and -1/4), 1 shape, and 4 of the 5 missing-rate,
    # out-of-range and unknown-column alternatives (the lowest rises by 3 points): 28 share the
    # budget of one false alarm per 30 days, the 12 data-quality ones at a tenth of the share of
    # the others.
    assert engine.alternatives == 15 + 1 + 3 * 4
    assert engine.plan.budget == pytest.approx(16 + 12 * DATA_QUALITY_WEIGHT)
    assert engine.threshold == pytest.approx(np.log((16 + 1.2) * 30 * DAY / 30.0))
    ten = Engine(numeric_baseline(10), EvaluationSettings(), Contract(30 * DAY, 30.0))
    # With two or more numeric features the baseline fits the multivariate signal: its
    # reconstruction error adds 15 tilts and 1 shape alternative.
    assert ten.alternatives == 10 * (15 + 1 + 2 * 4) + 4 + 16
    assert ten.plan.budget == pytest.approx(10 * 16 + 16 + (10 * 2 * 4 + 4) * DATA_QUALITY_WEIGHT)
    assert ten.threshold - engine.threshold == pytest.approx(
        np.log(ten.plan.budget / engine.plan.budget)
    )


def test_stationary_traffic_raises_nothing() -> None:
    engine = Engine(numeric_baseline(10), EvaluationSettings(), Contract(30 * DAY, 30.0))
    decisions = run(engine, shifted(10**9, 0.0, features=10), steps=600, per_step=300)
    assert {d.drift.status for d in decisions[1:]} == {"False"}
    assert {d.quality.status for d in decisions[1:]} == {"False"}
    assert engine.unconfirmed == 0
    assert max(s.statistic for s in decisions[-1].signals) < engine.threshold


@pytest.mark.parametrize(
    ("shift", "features", "alarm"),
    [(0.5, 1, 29), (1.0, 1, 20), (0.5, 10, 24), (1.0, 10, 21)],
)
def test_a_mean_shift_of_one_feature_is_found_within_a_few_steps(
    shift: float, features: int, alarm: int
) -> None:
    """30 rows a step, the change at step 20: the exact step of the alarm."""
    engine = Engine(numeric_baseline(features), EvaluationSettings(), Contract(30 * DAY, 30.0))
    decisions = run(engine, shifted(20, shift, features), steps=40, per_step=30)
    assert first_alarm(decisions, "x0") == alarm
    assert decisions[alarm].drifted == ("x0",)
    # One feature of ten is below the default driftShare (0.5): a warning, not DriftDetected.
    expected = "True" if features == 1 else "False"
    assert (decisions[alarm].drift.status, decisions[alarm].verdict) == (
        expected,
        "drift" if features == 1 else "warning",
    )
    # the decision's drift evidence is its signals' largest drift statistic, at every step
    for decision in decisions:
        drift = [s.statistic for s in decision.signals if s.condition == "DriftDetected"]
        assert decision.drift_evidence == max(drift, default=0.0)


def test_a_variance_change_is_found_by_the_spread_detectors() -> None:
    engine = Engine(numeric_baseline(), EvaluationSettings(), Contract(30 * DAY, 30.0))
    decisions = run(engine, shifted(20, 0.0, scale=2.0), steps=40, per_step=30)
    assert first(decisions) == 21


CATEGORIES = np.array([f"c{i}" for i in range(8)])
BEFORE = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.08, 0.05, 0.02])
AFTER = np.array([0.2, 0.2, 0.15, 0.15, 0.1, 0.1, 0.05, 0.05])  # total variation 0.12


def test_a_categorical_change_is_found_by_the_category_tilts_and_the_plug_in() -> None:
    """Ten points of c0's share move to three other categories after 1,000 rows (10 rows a step,
    a contract of one false alarm per 10,000 s: the benchmark's setting). The tilts of c0's log
    odds earn from the first changed row, the plug-in shape alternative on the whole change once
    its recent counts (a memory of 200 rows) have learned it. Before the tilts existed, the shape
    alternative alone took 760, 2,730, 1,770, 780 and 1,360 rows on these five streams; with the
    tilts as a union of CUSUMs 770, 140, 400, 610 and 710; with the mixture of e-detectors and a
    plug-in that restarted its history whenever its statistic fell below 0, at a weight of one
    alternative, 560, 130, 390, 150 and 610."""
    rng = np.random.default_rng(5)
    baseline = build_baseline({"c": rng.choice(CATEGORIES, size=20_000, p=BEFORE)})

    def rows(rng: np.random.Generator, step: int, n: int) -> dict[str, npt.NDArray[np.str_]]:
        return {"c": rng.choice(CATEGORIES, size=n, p=AFTER if step >= 100 else BEFORE)}

    delays = []
    for seed in range(5):
        engine = Engine(baseline, EvaluationSettings(), Contract(10_000.0, 10.0))
        decisions = run(engine, rows, steps=400, per_step=10, seed=seed)  # type: ignore[arg-type]
        assert {d.drift.status for d in decisions[10:100]} == {"False"}
        delays.append((first(decisions) - 99) * 10)
    assert delays == [410, 130, 310, 150, 210]


def test_one_change_one_alarm_and_it_holds_until_evidence_of_recovery() -> None:
    """A shift from step 20 to step 60, then the old traffic again. The alarm rises once, holds
    through window rotations (200 rows, 100 a step), and clears once a whole window of new
    data showed no crossing and the window's effect is below the floor."""
    settings = EvaluationSettings(window=WindowSettings(samples=200, min_samples=100))
    engine = Engine(numeric_baseline(), settings, Contract(30 * DAY, 30.0))

    def rows(rng: np.random.Generator, step: int, n: int) -> dict[str, npt.NDArray[np.float64]]:
        return {"x0": rng.normal(1.0 if 20 <= step < 60 else 0.0, 1.0, n)}

    decisions = run(engine, rows, steps=90, per_step=100)
    statuses = [d.drift.status for d in decisions]
    rises = [i for i in range(1, 90) if statuses[i] == "True" and statuses[i - 1] != "True"]
    assert rises == [20]
    assert statuses[20:60] == ["True"] * 40
    assert statuses.index("False", 60) == 63
    assert statuses[63:] == ["False"] * 27


def test_a_certain_but_negligible_change_is_not_an_alarm() -> None:
    """A 0.05-sigma shift at 20,000 rows a step is certain, but moves the distribution by about
    2 points, below the 5-point floor: crossings are counted as unconfirmed, never alarmed.
    With the floor at 1 point it alarms."""
    rows = shifted(0, 0.05)
    strict = Engine(numeric_baseline(rows=200_000), EvaluationSettings(), Contract(30 * DAY, 30.0))
    decisions = run(strict, rows, steps=30, per_step=20_000)
    assert {d.drift.status for d in decisions} == {"False"}
    assert strict.unconfirmed > 0
    lenient = Engine(
        numeric_baseline(rows=200_000),
        EvaluationSettings(drift=DriftSettings(min_effect=0.01)),
        Contract(30 * DAY, 30.0),
    )
    assert "True" in {d.drift.status for d in run(lenient, rows, steps=30, per_step=20_000)}


def test_a_small_reference_cannot_vouch_for_small_changes() -> None:
    """The same 0.2-sigma shift: found against 20,000 training rows, not against 300 (the
    change is smaller than what 300 rows can tell from sampling error)."""
    rows = shifted(0, 0.2)
    found = []
    for size in (20_000, 300):
        engine = Engine(
            numeric_baseline(rows=size),
            EvaluationSettings(drift=DriftSettings(min_effect=0.02)),
            Contract(30 * DAY, 30.0),
        )
        decisions = run(engine, rows, steps=60, per_step=300)
        found.append("True" in {d.drift.status for d in decisions})
    assert found == [True, False]


def test_below_min_samples_the_decision_waits_for_the_window() -> None:
    """A 3-sigma shift is certain after 30 rows, but the window users read must hold
    window.minSamples (100) rows: the alarm comes at the fourth step, not the first."""
    engine = Engine(numeric_baseline(), EvaluationSettings(), Contract(30 * DAY, 30.0))
    decisions = run(engine, shifted(0, 3.0), steps=6, per_step=30)
    assert [d.drift.status for d in decisions] == ["Unknown"] * 3 + ["True"] * 3


def test_a_step_sooner_than_half_an_interval_only_accumulates() -> None:
    engine = Engine(numeric_baseline(), EvaluationSettings(), Contract(30 * DAY, 30.0))
    sidecar = Sidecar(engine.baseline, engine.settings.window)
    rng = np.random.default_rng(0)
    first_step = engine.step(sidecar.feed({"x0": rng.normal(size=200)}, 0.0), sidecar.window, now=0)
    early = engine.step(sidecar.feed({"x0": rng.normal(size=50)}, 10.0), sidecar.window, now=10)
    late = engine.step(sidecar.feed({"x0": rng.normal(size=50)}, 30.0), sidecar.window, now=30)
    assert (first_step.stepped, early.stepped, late.stepped) == (True, False, True)
    assert engine.steps == 2


def test_ignored_features_and_disabled_prediction_drift_have_no_detectors() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=5000)
    baseline = build_baseline(
        {"x": x, "y": rng.normal(size=5000), "pred": (x > 0).astype(int)}, prediction="pred"
    )
    full = Engine(baseline, EvaluationSettings(), Contract(30 * DAY, 30.0))
    settings = EvaluationSettings(
        drift=DriftSettings(features=(FeatureOverride("y", ignore=True),), prediction=False)
    )
    reduced = Engine(baseline, settings, Contract(30 * DAY, 30.0))
    watched = {s.name for s in reduced.step(None, None, now=0).signals if s.kind == "drift"}
    assert watched == {"x"}
    # 15 of y's 20 tilts (the others move the distribution by less than the 5-point floor),
    # y's shape, the prediction's shape and its 8 category tilts (two classes: the first
    # class's log odds up and down cover both); and the multivariate signal (13 tilts outside
    # its reference's ball and above the floor, its shape), which would see y.
    assert full.alternatives - reduced.alternatives == 15 + 1 + 1 + 8 + 13 + 1


def test_a_feature_that_goes_missing_is_a_data_quality_alarm_not_silence() -> None:
    engine = Engine(numeric_baseline(3), EvaluationSettings(), Contract(30 * DAY, 30.0))

    def rows(rng: np.random.Generator, step: int, n: int) -> dict[str, npt.NDArray[np.float64]]:
        values = {f"x{i}": rng.normal(size=n) for i in range(3)}
        if step >= 10:
            values["x2"] = np.full(n, np.nan)
        return values

    decisions = run(engine, rows, steps=14, per_step=100)
    assert [d.quality.status for d in decisions[8:14]] == ["False"] * 2 + ["True"] * 4
    assert decisions[10].quality.reason == "MissingValues"
    assert "x2: missing values" in decisions[10].quality.message
    # Once the window holds only missing values for x2, the reason says the feature is absent.
    late = run(
        Engine(numeric_baseline(3), EvaluationSettings(), Contract(30 * DAY, 30.0)),
        rows,
        steps=40,
        per_step=100,
    )
    assert late[-1].quality.reason == "FeatureAbsent"
    assert late[-1].drift.status == "False"  # no drift verdict from a column without values


def test_out_of_range_values_unseen_categories_and_unknown_columns_are_data_quality() -> None:
    rng = np.random.default_rng(4)
    baseline = build_baseline(
        {"x": rng.normal(size=5000), "c": rng.choice(np.array(["a", "b", "c"]), size=5000)}
    )
    settings = EvaluationSettings(drift=DriftSettings(min_effect=0.05))

    def decide(
        batch: dict[str, npt.NDArray[np.object_]] | dict[str, npt.NDArray[np.float64]],
    ) -> Decision:
        engine = Engine(baseline, settings, Contract(30 * DAY, 30.0))
        sidecar = Sidecar(baseline, settings.window)
        return engine.step(sidecar.feed(batch, 0.0), sidecar.window, now=0.0)

    normal = rng.normal(size=300)
    categories = rng.choice(np.array(["a", "b", "c"]), size=300)
    wide = normal.copy()
    wide[:60] = 50.0
    out_of_range = decide({"x": wide, "c": categories}).quality
    assert out_of_range.reason == "OutOfRange"
    # The message gives the share the window saw, not only the reference's rate (0 here).
    assert out_of_range.message == (
        "x: values outside the training range in 20.0% of 300 window rows, "
        "above the reference's 0.0%"
    )
    novel = categories.copy()
    novel[:60] = "zzz"
    assert decide({"x": normal, "c": novel}).quality.reason == "UnseenCategories"
    extra = decide({"x": normal, "c": categories, "surprise": normal})
    assert (extra.quality.reason, extra.quality.message) == (
        "UnknownColumns",
        "columns the baseline does not know: surprise",
    )


def test_an_error_rate_rise_is_a_performance_alarm_from_labels() -> None:
    """A classifier at its reference error rate 0.15 whose errors rise to 0.30 at step 20
    (50 labels a step): PerformanceDegraded, reason ErrorRateShift, although the windowed
    accuracy (0.70) is above the threshold (0.6)."""
    rng = np.random.default_rng(8)
    x = rng.normal(size=20_000)
    truth = (x > 0).astype(int)
    pred = np.where(rng.random(20_000) < 0.15, 1 - truth, truth)
    baseline = build_baseline({"x": x, "pred": pred, "y": truth}, prediction="pred", label="y")
    settings = EvaluationSettings(
        performance=PerformanceSettings("accuracy", 0.6, min_labeled_samples=100)
    )
    engine = Engine(baseline, settings, Contract(30 * DAY, 30.0))
    window = Window(baseline, settings.window, start=0.0)
    statuses = []
    for step in range(40):
        xs = rng.normal(size=50)
        labels = (xs > 0).astype(int)
        wrong = rng.random(50) < (0.30 if step >= 20 else 0.15)
        predictions = np.where(wrong, 1 - labels, labels)
        increment = Window(baseline, settings.window, start=0.0)
        for target in (increment, window):
            target.update({"x": xs}, predictions)
            target.add_labeled(predictions, labels)
        decision = engine.step(Tally.of_window(increment), window, now=30.0 * step)
        assert decision.performance is not None
        statuses.append((decision.performance.status, decision.performance.reason))
    assert statuses.index(("True", "ErrorRateShift")) == 23
    # The first step has 50 labels, fewer than minLabeledSamples: Unknown, never an alarm.
    assert statuses[:20] == [("Unknown", "NotEnoughLabels")] + [("False", "WithinThreshold")] * 19


def test_increments_count_each_row_once_across_restarts_and_silent_rounds() -> None:
    profiles = numeric_baseline().features

    def tally(epoch: float, samples: int) -> Tally:
        empty = Tally.empty(profiles, epoch)
        return Tally(
            epoch, empty.names, samples, 0, 0, 0, empty.counts, empty.missing, empty.out_of_range
        )

    increments = Increments()

    def new_samples(tallies: dict[str, Tally]) -> int:
        taken = increments.take(tallies)
        assert taken is not None
        return taken.samples

    assert new_samples({"a": tally(1.0, 10), "b": tally(2.0, 5)}) == 15
    assert new_samples({"a": tally(1.0, 25)}) == 15  # b silent this round
    assert new_samples({"a": tally(1.0, 30), "b": tally(2.0, 9)}) == 5 + 4
    # a restarted (new epoch): all of its new tally is new data.
    assert new_samples({"a": tally(7.0, 3), "b": tally(2.0, 9)}) == 3
    assert increments.take({}) is None


def test_engines_over_one_baseline_and_spec_share_one_read_only_plan() -> None:
    baseline = numeric_baseline(3)
    settings, contract = EvaluationSettings(), Contract(30 * DAY, 30.0)
    first_engine = Engine(baseline, settings, contract)
    second_engine = Engine(baseline, settings, contract)
    assert second_engine.plan is first_engine.plan
    assert second_engine._tilt_weights is first_engine._tilt_weights
    with pytest.raises(ValueError, match="read-only"):
        first_engine.plan.tilt_weights[0, 0, 0] = 1.0
    # Another contract, other settings or an equal but distinct baseline object: another plan.
    assert Engine(baseline, settings, Contract(DAY, 30.0)).plan is not first_engine.plan
    strict = EvaluationSettings(drift=DriftSettings(min_effect=0.2))
    assert Engine(baseline, strict, contract).plan is not first_engine.plan
    assert Engine(numeric_baseline(3), settings, contract).plan is not first_engine.plan
    with pytest.raises(ValueError, match="another baseline"):
        Engine(numeric_baseline(3), settings, contract, plan=first_engine.plan)


def test_engines_sharing_a_plan_keep_their_own_detector_state() -> None:
    baseline = numeric_baseline(1)
    settings, contract = EvaluationSettings(), Contract(30 * DAY, 30.0)
    drifting = run(Engine(baseline, settings, contract), shifted(5, 1.0), steps=12, per_step=100)
    stable = run(Engine(baseline, settings, contract), shifted(5, 0.0), steps=12, per_step=100)
    assert drifting[-1].drift.status == "True"
    assert {d.drift.status for d in stable[1:]} == {"False"}
