"""Performance estimated without labels (CBPE): calibration, the sketch, the band, the detector.

Streams are seeded; the true probability of every row is known, so the estimate can be checked
against the oracle (the mean of the true probability of the predicted class) and the realized
value from labels drawn from it.
"""

from __future__ import annotations

import numpy as np
import pytest

from kubedrift.stats.baseline import build_baseline
from kubedrift.stats.engine import Engine, Tally, estimated
from kubedrift.stats.engine.contract import Contract
from kubedrift.stats.engine.estimated import EstimatedErrorDetector, expected_errors
from kubedrift.stats.estimation import (
    CalibrationMap,
    EstimationSketch,
    StepMap,
    estimate,
    fit_calibration,
    fit_step_map,
)
from kubedrift.stats.settings import DriftSettings, EvaluationSettings, PerformanceSettings
from kubedrift.stats.window import Window

DAY = 86400.0


def sigmoid(x: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1 / (1 + np.exp(-x))
    return result


def binary_rows(
    rng: np.random.Generator, size: int, mean: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores (overconfident), labels (strings) and true probabilities of class "1"."""
    logit = 2 * rng.normal(mean, 1.0, size) + rng.normal(size=size)
    truth = sigmoid(logit)
    labels = np.where(rng.uniform(size=size) < truth, "1", "0")
    return sigmoid(1.7 * logit), labels, truth


def reference_map(seed: int = 1) -> CalibrationMap:
    scores, labels, _ = binary_rows(np.random.default_rng(seed), 20_000, 1.0)
    return fit_calibration(scores[:, None], labels, ("0", "1"))


def test_step_map_is_monotone_and_keeps_the_reference_count_of_positives() -> None:
    rng = np.random.default_rng(0)
    scores = rng.uniform(size=5_000)
    outcomes = (rng.uniform(size=scores.size) < scores**3).astype(float)
    step_map = fit_step_map(scores, outcomes)
    assert all(a <= b for a, b in zip(step_map.values, step_map.values[1:], strict=False))
    assert sum(step_map.counts) == scores.size
    # Isotonic pooling keeps sums: the calibrated values add up to the positives exactly.
    assert step_map(scores).sum() == pytest.approx(outcomes.sum(), abs=1e-6)


def test_step_map_never_splits_tied_scores() -> None:
    scores = np.repeat([0.1, 0.5, 0.9], [10, 500, 10])
    outcomes = np.concatenate([np.zeros(10), np.ones(250), np.zeros(250), np.ones(10)])
    step_map = fit_step_map(scores, outcomes, bins=50)
    assert step_map(np.array([0.5]))[0] == pytest.approx(0.5)


def test_calibration_map_round_trips_through_json_shapes() -> None:
    calibration = reference_map()
    assert CalibrationMap.from_dict(calibration.to_dict()) == calibration
    with pytest.raises(ValueError, match="one more value"):
        StepMap.from_dict({"edges": [0.5], "values": [0.1], "counts": [3]})


def test_binary_probabilities_take_one_or_two_columns_but_not_three() -> None:
    calibration = reference_map()
    one, two = EstimationSketch.empty(calibration), EstimationSketch.empty(calibration)
    scores = np.random.default_rng(2).uniform(size=100)
    one.add_scores(calibration, scores[:, None])
    two.add_scores(calibration, np.stack([1 - scores, scores], axis=1))
    assert np.array_equal(one.expected, two.expected)
    with pytest.raises(ValueError, match="1 or 2 columns"):
        one.add_scores(calibration, np.ones((3, 3)) / 3)


def test_estimate_tracks_the_oracle_under_covariate_shift() -> None:
    """Against a 20,000-row reference, per 2,000-row chunk the estimated accuracy is within
    0.005 of the oracle (the mean true probability of the predicted class; the map's steps and
    the reference's noise are the only differences) while the accuracy itself falls by 0.05."""
    calibration = reference_map()
    rng = np.random.default_rng(3)
    gaps, accuracies = [], []
    for mean in (1.0, 0.6, 0.2, -0.2):
        scores, _, truth = binary_rows(rng, 2_000, mean)
        sketch = EstimationSketch.empty(calibration)
        sketch.add_scores(calibration, scores[:, None])
        predicted = scores >= 0.5
        oracle = float(np.mean(np.where(predicted, truth, 1 - truth)))
        gaps.append(abs(estimate(sketch, calibration)["accuracy"].value - oracle))
        accuracies.append(oracle)
    assert max(gaps) < 0.005
    assert accuracies[0] - accuracies[-1] > 0.04


def test_realized_accuracy_falls_in_the_band_about_as_often_as_its_confidence() -> None:
    """200 seeded chunks: the 95% band holds the realized accuracy in 93-99% of them."""
    calibration = reference_map()
    rng = np.random.default_rng(4)
    inside = 0
    for _ in range(200):
        scores, labels, _ = binary_rows(rng, 1_000, 0.3)
        sketch = EstimationSketch.empty(calibration)
        sketch.add_scores(calibration, scores[:, None])
        result = estimate(sketch, calibration)["accuracy"]
        realized = float(np.mean((scores >= 0.5) == (labels == "1")))
        inside += result.lower <= realized <= result.upper
    assert 0.93 <= inside / 200 <= 0.99


def test_sketches_merge_and_subtract_like_counters() -> None:
    calibration = reference_map()
    rng = np.random.default_rng(5)
    first, second = (rng.uniform(size=300), rng.uniform(size=200))
    a, b, both = (EstimationSketch.empty(calibration) for _ in range(3))
    a.add_scores(calibration, first[:, None])
    b.add_scores(calibration, second[:, None])
    both.add_scores(calibration, np.concatenate([first, second])[:, None])
    merged = a + b
    assert merged.rows == 500
    assert np.allclose(merged.expected, both.expected)
    assert np.array_equal(merged.score_counts, both.score_counts)
    assert np.allclose((merged - a).expected, b.expected)
    assert (a - merged).negative()
    restored = EstimationSketch.from_dict(merged.to_dict(), calibration)
    assert np.allclose(restored.score_positives, merged.score_positives)


def test_multiclass_estimates_macro_averages_and_sums_each_row_to_one() -> None:
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(9_000, 3)) * 2
    truth = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array(["a", "b", "c"])[
        (rng.uniform(size=(truth.shape[0], 1)) > truth.cumsum(axis=1)).sum(axis=1)
    ]
    calibration = fit_calibration(truth, labels, ("a", "b", "c"))
    assert calibration.calibrated(truth[:10]).sum(axis=1) == pytest.approx(np.ones(10))
    sketch = EstimationSketch.empty(calibration)
    sketch.add_scores(calibration, truth[:3_000])
    result = estimate(sketch, calibration)
    realized = float(
        np.mean(truth[:3_000].argmax(axis=1) == np.searchsorted(["a", "b", "c"], labels[:3_000]))
    )
    assert result["accuracy"].lower <= realized <= result["accuracy"].upper
    assert set(result) == {"accuracy", "precision", "recall", "f1", "roc-auc"}
    assert 0.5 < result["roc-auc"].value < 1.0


def detector_run(
    shift_from: int | None, steps: int = 60, seed: int = 7
) -> tuple[list[bool], EstimatedErrorDetector]:
    """200 rows every 30 s; from ``shift_from`` on, x1's mean moves from 1.0 to 0.0."""
    calibration = reference_map()
    contract = Contract(30 * DAY, 30.0)
    detector = EstimatedErrorDetector(
        calibration,
        threshold=contract.threshold(estimated.ALTERNATIVES),
        delta=contract.reference_risk,
        min_effect=0.05,
    )
    rng = np.random.default_rng(seed)
    alarms = []
    for step in range(steps):
        mean = 0.0 if shift_from is not None and step >= shift_from else 1.0
        scores, _, _ = binary_rows(rng, 200, mean)
        increment = EstimationSketch.empty(calibration)
        increment.add_scores(calibration, scores[:, None])
        detector.step(increment, decide=True)
        alarms.append(detector.alarmed)
    return alarms, detector


def test_detector_alarms_at_an_exact_step_after_the_shift() -> None:
    alarms, detector = detector_run(shift_from=30)
    assert not any(alarms[:30])
    assert alarms.index(True) == 41  # 11 steps, 2,200 rows after the shift
    assert detector.reference_rate == pytest.approx(0.15665, abs=1e-5)


def test_detector_is_silent_without_a_change() -> None:
    alarms, detector = detector_run(shift_from=None, steps=500)
    assert not any(alarms)
    assert detector.unconfirmed == 0


def test_a_crossing_waits_for_the_gate_and_small_rises_stay_unconfirmed() -> None:
    calibration = reference_map()
    detector = EstimatedErrorDetector(calibration, threshold=5.0, delta=0.01, min_effect=0.9)
    increment = EstimationSketch.empty(calibration)
    increment.add_scores(calibration, np.full((2_000, 1), 0.5))
    assert detector.step(increment, decide=False) == "crossed"
    assert detector.step(increment, decide=True) == "unconfirmed"
    assert not detector.alarmed


def test_alarm_recovers_after_quiet_rows_with_a_calm_window() -> None:
    calibration = reference_map()
    detector = EstimatedErrorDetector(
        calibration, threshold=5.0, delta=0.01, min_effect=0.05, quiet=1_000
    )
    bad = EstimationSketch.empty(calibration)
    bad.add_scores(calibration, np.full((2_000, 1), 0.5))
    assert detector.step(bad, decide=True) == "alarmed"
    good = EstimationSketch.empty(calibration)
    good.add_scores(calibration, np.full((600, 1), 0.999))
    errors, rows = expected_errors(good)
    assert errors / rows < detector.reference_rate
    detector.step(good, decide=True)
    assert not detector.recover(good)  # 600 quiet rows, 1,000 needed
    detector.step(good, decide=True)
    assert detector.recover(good)
    assert not detector.alarmed


def engine_run(
    shift_from: int | None, *, estimated_on: bool = True, steps: int = 80
) -> tuple[list[str], list[str], Engine]:
    """The engine as the operator runs it: a baseline with calibration maps, 200 rows every 30
    s, no labels at all; from ``shift_from`` on, x1's mean moves from 1.0 to 0.0."""
    rng = np.random.default_rng(11)
    scores, labels, _ = binary_rows(rng, 20_000, 1.0)
    baseline = build_baseline(
        {"s": scores, "y": labels, "p": (scores >= 0.5).astype(int).astype(str)},
        features=["s"],
        prediction="p",
        label="y",
        probabilities=["s"],
    )
    settings = EvaluationSettings(
        drift=DriftSettings(min_effect=0.02),  # the shift raises the error rate by about 0.045
        performance=PerformanceSettings("accuracy", 0.5, estimated=estimated_on),
    )
    engine = Engine(baseline, settings, Contract(30 * DAY, 30.0))
    window = Window(baseline, settings.window, start=0.0)
    statuses: list[str] = []
    reasons: list[str] = []
    for step in range(steps):
        mean = 0.0 if shift_from is not None and step >= shift_from else 1.0
        batch, _, _ = binary_rows(rng, 200, mean)
        rows = {"s": batch}
        predictions = (batch >= 0.5).astype(int).astype(str).astype(object)
        if window.samples >= settings.window.samples:  # the sidecar rotates its window
            window = Window(baseline, settings.window, start=0.0)
        increment = Window(baseline, settings.window, start=0.0)
        for target in (increment, window):
            target.update(rows, predictions)
            target.add_probabilities(batch[:, None])
        decision = engine.step(Tally.of_window(increment), window, now=30.0 * step)
        assert decision.performance is not None
        statuses.append(decision.performance.status)
        reasons.append(decision.performance.reason)
    return statuses, reasons, engine


def test_engine_raises_performance_degraded_on_the_estimate_without_any_label() -> None:
    statuses, reasons, engine = engine_run(shift_from=40)
    assert "True" not in statuses[:40]
    first = statuses.index("True")
    assert first == 51  # 11 steps, 2,200 rows after the shift
    assert reasons[first] == "EstimatedErrorRateShift"
    assert engine.estimated is not None
    assert statuses[first:] == ["True"] * (len(statuses) - first)  # held while the shift lasts
    signal = next(s for s in engine.step(None, None, now=1e9).signals if s.kind.startswith("est"))
    assert signal.alarmed


def test_engine_estimate_is_opt_in_and_costs_five_alternatives() -> None:
    statuses, reasons, off = engine_run(shift_from=40, estimated_on=False)
    assert "True" not in statuses
    assert set(reasons) == {"NoLabels"}
    _, _, on = engine_run(shift_from=None, steps=1)
    assert on.alternatives == off.alternatives + estimated.ALTERNATIVES


def test_engine_estimate_stays_silent_without_a_change() -> None:
    statuses, reasons, engine = engine_run(shift_from=None, steps=400)
    assert "True" not in statuses
    assert reasons[-1] == "NoLabels"
    assert engine.estimated is not None and engine.estimated.unconfirmed == 0


def test_cumulative_tallies_carry_the_estimation_sums_as_increments() -> None:
    """A sidecar's cumulative tally grows; the operator takes differences; a restart (another
    epoch) makes the whole tally new, like every other counter."""
    rng = np.random.default_rng(12)
    scores, labels, _ = binary_rows(rng, 5_000, 1.0)
    baseline = build_baseline(
        {"s": scores, "y": labels}, features=["s"], label="y", probabilities=["s"]
    )
    window = Window(baseline, start=0.0)
    window.update({"s": scores[:300]})
    window.add_probabilities(scores[:300, None])
    first = Tally.of_window(window, epoch=1.0)
    window.update({"s": scores[300:500]})
    window.add_probabilities(scores[300:500, None])
    second = Tally.of_window(window, epoch=1.0)
    increment = second.since(first)
    assert increment.estimation is not None and increment.estimation.rows == 200
    restarted = Tally.of_window(window, epoch=2.0).since(second)
    assert restarted.estimation is not None and restarted.estimation.rows == 500
    assert baseline.calibration is not None
    read = Tally.from_dict(second.to_dict(), window.profiles, baseline.calibration)
    assert read.estimation is not None
    assert np.allclose(read.estimation.expected, second.estimation.expected)  # type: ignore[union-attr]
