"""Every knob of ``spec.drift``, ``spec.performance``, ``spec.window`` and ``spec.evaluation``
changes what the backtest (the operator's schedule and engine, offline) decides, or the test
says why it cannot (docs/statistics.md, "Every knob").

Each case replays one seeded stream under two specs that differ in one field and compares a
summary of the outcome: the rows at which alarms rose, per condition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from kubedrift.api.spec import parse_spec
from kubedrift.commands.replay import Replay, replay
from kubedrift.stats.baseline import Baseline, build_baseline

Stream = dict[str, npt.NDArray[Any]]

BASE: dict[str, Any] = {
    "target": {"deployment": "m", "port": 8080},
    "baseline": {"configMapRef": {"name": "b"}},
    "window": {"samples": 400, "minSamples": 100, "maxAge": "1h"},
    "performance": {"metric": "accuracy", "threshold": 0.6, "minLabeledSamples": 100},
    "evaluation": {"interval": "10s"},
}


def merged(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = {**base}
    for key, value in change.items():
        out[key] = merged(base.get(key) or {}, value) if isinstance(value, dict) else value
    return out


def baseline(features: int = 2, rows: int = 20_000) -> Baseline:
    rng = np.random.default_rng(0)
    columns: dict[str, npt.NDArray[Any]] = {f"x{i}": rng.normal(size=rows) for i in range(features)}
    truth = (columns["x0"] > 0).astype(int)
    columns["pred"] = np.where(rng.random(rows) < 0.1, 1 - truth, truth)
    columns["y"] = truth
    return build_baseline(columns, prediction="pred", label="y")


def stream(
    rows: int,
    *,
    features: int = 2,
    shift: Callable[[npt.NDArray[np.int64]], npt.NDArray[Any]] = lambda i: 0 * i,
    shifted: tuple[int, ...] = (0,),
    error: Callable[[npt.NDArray[np.int64]], npt.NDArray[Any]] = lambda i: 0.1 + 0 * i,
    seed: int = 1,
) -> tuple[Stream, npt.NDArray[Any], npt.NDArray[Any]]:
    rng = np.random.default_rng(seed)
    index = np.arange(rows)
    columns = {
        f"x{i}": rng.normal(size=rows) + (shift(index) if i in shifted else 0.0)
        for i in range(features)
    }
    truth = (columns["x0"] > 0).astype(int)
    predictions = np.where(rng.random(rows) < error(index), 1 - truth, truth)
    return columns, predictions, truth


def outcome(
    spec: dict[str, Any], data: tuple[Stream, Any, Any], features: int = 2, rows: int = 20_000
) -> Replay:
    columns, predictions, labels = data
    reference = baseline(features, rows)
    return replay(parse_spec(spec), reference, columns, predictions, labels, rate=10.0)


def alarms(result: Replay) -> dict[str, int]:
    found: dict[str, int] = {}
    for alert in result.alerts:
        found.setdefault(alert.condition, alert.row)
    return found


def step(at: int, size: float) -> Callable[[npt.NDArray[np.int64]], npt.NDArray[np.float64]]:
    return lambda i: np.where(i >= at, size, 0.0)


def pulse(start: int, end: int, size: float) -> Callable[[npt.NDArray[np.int64]], Any]:
    return lambda i: np.where((i >= start) & (i < end), size, 0.0)


def test_min_effect_decides_whether_a_change_is_worth_an_alarm() -> None:
    """A 0.5-sigma shift of x1 moves its distribution by about 20 points: an alarm by default,
    none when only changes of 50 points are worth one (no alternative that gains on it is that
    far). The engine's unit tests show the other side: a certain 0.05-sigma shift is below the
    default floor."""
    data = stream(3000, shift=step(1000, 0.5), shifted=(1,))
    spec = merged(BASE, {"drift": {"driftShare": 0.5}})
    assert "DriftDetected" in alarms(outcome(spec, data))
    strict = merged(spec, {"drift": {"minEffect": 0.5}})
    assert "DriftDetected" not in alarms(outcome(strict, data))


def test_drift_share_decides_whether_one_of_two_features_is_drift_or_a_warning() -> None:
    data = stream(3000, shift=step(1000, 1.0), shifted=(1,))  # x1: the predictions stay
    default = outcome(BASE, data)
    assert "DriftDetected" in alarms(default)
    # The multivariate signal, like the prediction, drifts the monitor alone, and x1's shift
    # moves the reconstruction error too; driftShare counts the features' own alarms.
    assert "DriftDetected" in alarms(outcome(merged(BASE, {"drift": {"driftShare": 0.6}}), data))
    alone = {"driftShare": 0.6, "multivariate": {"enabled": False}}
    strict = outcome(merged(BASE, {"drift": alone}), data)
    assert "DriftDetected" not in alarms(strict)
    assert {e.verdict for e in strict.evaluations[-5:]} == {"warning"}


def test_warning_share_decides_when_a_minority_of_features_is_a_warning() -> None:
    data = stream(3000, features=4, shift=step(1000, 1.0), shifted=(1,))
    spec = merged(BASE, {"drift": {"driftShare": 1.0}})
    assert outcome(spec, data, 4).evaluations[-1].verdict == "warning"
    quiet = merged(spec, {"drift": {"warningShare": 0.5}})
    assert outcome(quiet, data, 4).evaluations[-1].verdict == "ok"


def test_prediction_drift_alarms_only_when_enabled() -> None:
    """The features stay; the model starts answering 1 twice as often (a broken model)."""
    columns, predictions, truth = stream(3000)
    rng = np.random.default_rng(3)
    predictions = np.where((np.arange(3000) >= 1000) & (rng.random(3000) < 0.5), 1, predictions)
    data = (columns, predictions, np.full(3000, None, dtype=object))
    spec = merged(BASE, {"performance": None})
    spec.pop("performance")
    assert alarms(outcome(spec, data)).keys() == {"DriftDetected"}
    off = merged(spec, {"drift": {"prediction": {"enabled": False}}})
    assert "DriftDetected" not in alarms(outcome(off, data))
    del truth


def test_an_ignored_feature_has_no_say() -> None:
    data = stream(3000, shift=step(1000, 1.0))
    ignored = merged(BASE, {"features": [{"name": "x1", "ignore": True}]})
    shifted_x1 = stream(3000, shift=step(1000, 1.0), shifted=(1,))
    assert "DriftDetected" in alarms(outcome(BASE, shifted_x1))
    assert "DriftDetected" not in alarms(outcome(ignored, shifted_x1))
    assert "DriftDetected" in alarms(outcome(ignored, data))


def test_min_samples_delays_the_first_decision() -> None:
    data = stream(3000, shift=step(0, 2.0))
    early = alarms(outcome(BASE, data))["DriftDetected"]
    late = alarms(outcome(merged(BASE, {"window": {"minSamples": 300}}), data))["DriftDetected"]
    assert (early, late) == (100, 300)


def test_window_samples_is_the_quiet_needed_before_an_alarm_clears() -> None:
    """A shift from row 500 to row 1500: the alarm clears after a window's worth of quiet
    rows, so a larger window clears it later."""
    data = stream(6000, shift=pulse(500, 1500, 1.5))

    def cleared(spec: dict[str, Any]) -> int:
        result = outcome(spec, data)
        states = [(e.row, e.decision.drift.status) for e in result.evaluations]
        raised = next(row for row, state in states if state == "True")
        return next(row for row, state in states if row > raised and state == "False")

    small = cleared(BASE)
    large = cleared(merged(BASE, {"window": {"samples": 1200}}))
    assert 1500 < small < large


def test_window_max_age_rotates_the_window_users_read() -> None:
    data = stream(3000)
    default = outcome(BASE, data)
    aged = outcome(merged(BASE, {"window": {"maxAge": "20s"}}), data)
    assert max(e.evaluation.samples for e in default.evaluations) == 400
    assert max(e.evaluation.samples for e in aged.evaluations) < 400


def test_the_interval_sets_the_rounds_and_the_threshold() -> None:
    data = stream(3000, shift=step(1000, 0.5))
    fast = outcome(BASE, data)
    slow = outcome(merged(BASE, {"evaluation": {"interval": "60s"}}), data)
    assert len(fast.evaluations) > len(slow.evaluations)
    assert fast.threshold > slow.threshold
    assert alarms(fast)["DriftDetected"] != alarms(slow)["DriftDetected"]


def test_the_false_alarm_contract_sets_the_threshold() -> None:
    data = stream(4000, shift=step(1000, 0.3))
    lax = outcome(merged(BASE, {"evaluation": {"meanTimeBetweenFalseAlarms": "1h"}}), data)
    strict = outcome(merged(BASE, {"evaluation": {"meanTimeBetweenFalseAlarms": "87600h"}}), data)
    assert strict.threshold - lax.threshold == pytest.approx(np.log(87600))
    assert alarms(lax)["DriftDetected"] < alarms(strict)["DriftDetected"]


def test_performance_threshold_and_metric_decide_the_windowed_rule() -> None:
    """A classifier whose error rate goes from 0.1 to 0.5: accuracy 0.5 is below 0.8 (the
    windowed rule's reason, ThresholdCrossed, shows up), above 0.3 (only the error-rate
    detector's ErrorRateShift does)."""
    data = stream(4000, error=lambda i: np.where(i >= 1000, 0.5, 0.1))

    def reasons(spec: dict[str, Any]) -> set[str]:
        return {
            e.decision.performance.reason
            for e in outcome(spec, data).evaluations
            if e.decision.performance is not None and e.decision.performance.status == "True"
        }

    assert "ThresholdCrossed" in reasons(merged(BASE, {"performance": {"threshold": 0.8}}))
    assert reasons(merged(BASE, {"performance": {"threshold": 0.3}})) == {"ErrorRateShift"}
    error_rate = merged(BASE, {"performance": {"metric": "error-rate", "threshold": 0.2}})
    assert "ThresholdCrossed" in reasons(error_rate)


def test_min_labeled_samples_delays_the_performance_decision() -> None:
    data = stream(4000, error=lambda i: np.where(i >= 0, 0.5, 0.1))
    early = alarms(outcome(BASE, data))["PerformanceDegraded"]
    later = merged(BASE, {"performance": {"minLabeledSamples": 400}})
    assert early < alarms(outcome(later, data))["PerformanceDegraded"]


def test_confidence_sets_the_interval_users_read() -> None:
    data = stream(1000)
    wide = outcome(merged(BASE, {"performance": {"confidence": 0.999}}), data)
    narrow = outcome(merged(BASE, {"performance": {"confidence": 0.5}}), data)
    width = [r.evaluations[-1].evaluation.performance for r in (wide, narrow)]
    assert all(p is not None and p.lower_bound is not None for p in width)
    assert width[0].lower_bound < width[1].lower_bound  # type: ignore[union-attr,operator]


def test_positive_label_picks_the_class_of_precision() -> None:
    data = stream(2000, error=lambda i: 0.2 + 0 * i)
    spec = merged(BASE, {"performance": {"metric": "precision", "threshold": 0.5}})
    values = [
        outcome(merged(spec, {"performance": {"positiveLabel": label}}), data)
        .evaluations[-1]
        .evaluation.performance
        for label in ("0", "1")
    ]
    assert values[0] is not None and values[1] is not None
    assert values[0].value != values[1].value


@pytest.mark.parametrize(
    "change",
    [
        {"drift": {"threshold": 1e-12}},
        {"drift": {"method": "psi"}},
        {"drift": {"correction": "none"}},
        {"features": [{"name": "x0", "method": "wasserstein", "threshold": 5.0}]},
        {"drift": {"prediction": {"method": "chi2", "threshold": 1e-9}}},
    ],
    ids=["threshold", "method", "correction", "feature-method", "prediction-method"],
)
def test_window_test_settings_change_what_users_read_not_the_decision(
    change: dict[str, Any],
) -> None:
    """The per-feature test settings shape the window evaluation in status and in `kubedrift
    check`; the live decision's false-alarm rate is the contract's, so they do not move it."""
    data = stream(3000, shift=step(1000, 1.0))
    default = outcome(BASE, data)
    changed = outcome(merged(BASE, change), data)
    assert alarms(default) == alarms(changed)
    read = [r.evaluations[-1].to_dict()["features"] for r in (default, changed)]
    prediction = [r.evaluations[-1].to_dict()["prediction"] for r in (default, changed)]
    assert (read[0], prediction[0]) != (read[1], prediction[1])
