"""Sequential detectors: river-style API, exact detection indices on seeded streams, calibration."""

from __future__ import annotations

import numpy as np
import pytest

from kubedrift.stats.calibration import calibrate, cusum_threshold, false_alarm_rate
from kubedrift.stats.detectors import ADWIN, CUSUM, PageHinkley, detections


def mean_shift(seed: int, before: int = 1000, after: int = 1000, shift: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(0, 1, before), rng.normal(shift, 1, after)])


def errors(seed: int, p0: float = 0.15, p1: float = 0.30, n: int = 2000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.random(n) < p0, rng.random(n) < p1]).astype(float)


def test_page_hinkley_finds_a_two_sigma_rise() -> None:
    assert detections(PageHinkley(), mean_shift(42, 500, 500, 2.0)) == [519]


def test_page_hinkley_mode_down_ignores_a_rise() -> None:
    assert detections(PageHinkley(mode="down"), mean_shift(42, 500, 500, 2.0)) == []


def test_adwin_finds_a_one_sigma_shift_and_shrinks_its_window() -> None:
    detector = ADWIN()
    assert detections(detector, mean_shift(42)) == [1055]
    assert detector.width == 944


def test_adwin_stays_quiet_on_a_long_stationary_stream() -> None:
    assert detections(ADWIN(), np.random.default_rng(1).normal(size=50_000)) == []


def test_cusum_bank_with_known_reference_finds_the_shift_first() -> None:
    stream = mean_shift(42)
    assert detections(CUSUM(mean=0.0, std=1.0), stream)[:3] == [1011, 1036, 1055]
    assert detections(ADWIN(), stream)[0] > 1011


def test_cusum_tuned_to_a_known_shift() -> None:
    detector = CUSUM(mean=0.0, std=1.0, shift=1.0, threshold=7.0)
    assert detections(detector, mean_shift(42))[0] == 1008


def test_bernoulli_cusum_on_an_error_rate_rise() -> None:
    found = detections(CUSUM(mean=0.15, family="bernoulli"), errors(3))
    # 1968 is a false alarm 32 values before the change: at the default threshold (about one
    # per 10,000 values) one stretch of 2,000 no-change values in five has one.
    assert found[:3] == [1968, 2068, 2131]


def test_cusum_direction_down() -> None:
    stream = mean_shift(42, shift=-1.0)
    assert detections(CUSUM(mean=0.0, std=1.0, direction="up"), stream) == []
    assert detections(CUSUM(mean=0.0, std=1.0, direction="down"), stream)[:2] == [1015, 1032]
    assert detections(CUSUM(mean=0.0, std=1.0, direction="both"), stream)[:2] == [1015, 1032]


def test_state_resets_on_the_update_after_a_detection() -> None:
    detector = PageHinkley(min_instances=1, threshold=1.0, delta=0.0, mode="up")
    assert detector.update(0.0).update(5.0).drift_detected
    assert not detector.update(5.0).drift_detected  # a fresh start: one value is no change


def test_hyper_parameters_are_stored_under_init_names_and_clone_changes_them() -> None:
    detector = ADWIN(delta=0.01, clock=16)
    assert detector.params() == {
        "delta": 0.01,
        "clock": 16,
        "max_buckets": 5,
        "min_window_length": 5,
        "grace_period": 10,
    }
    assert detector.clone(delta=0.5).params()["delta"] == 0.5


@pytest.mark.parametrize("bad", [{"mode": "sideways"}])
def test_bad_mode_is_rejected(bad: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="mode must be"):
        PageHinkley(**bad)  # type: ignore[arg-type]


def test_calibrated_threshold_meets_the_target_on_no_change_streams() -> None:
    streams = [np.random.default_rng(seed).normal(size=20_000) for seed in range(5)]
    threshold = calibrate(CUSUM(mean=0.0, std=1.0), "threshold", streams, 5_000, low=1.0, high=30.0)
    assert false_alarm_rate(CUSUM(mean=0.0, std=1.0, threshold=threshold), streams) <= 1 / 5_000
    looser = CUSUM(mean=0.0, std=1.0, threshold=threshold * 0.9)
    assert false_alarm_rate(looser, streams) > 1 / 5_000


def test_threshold_without_simulation_is_conservative() -> None:
    streams = [np.random.default_rng(seed).normal(size=20_000) for seed in range(5)]
    detector = CUSUM(mean=0.0, std=1.0, threshold=cusum_threshold(5_000))
    assert false_alarm_rate(detector, streams) < 1 / 5_000


def test_calibration_of_a_confidence_parameter_runs_the_other_way() -> None:
    streams = [np.random.default_rng(seed).normal(size=5_000) for seed in range(4)]
    delta = calibrate(
        ADWIN(), "delta", streams, 2_000, low=1e-6, high=1.0, higher_is_stricter=False, iterations=8
    )
    assert false_alarm_rate(ADWIN(delta=delta), streams) <= 1 / 2_000
    assert delta > 1e-6


def test_calibration_reports_an_unreachable_target() -> None:
    streams = [np.random.default_rng(0).normal(size=1000)]
    with pytest.raises(ValueError, match="still exceeds"):
        calibrate(PageHinkley(min_instances=1), "threshold", streams, 10_000, low=0.01, high=0.1)
