"""The CUSUM bank (``CUSUM`` with ``shift=None``): what each statistic is, how the bank combines
them, how it resets, estimates a missing reference, and keeps a calibrated false-alarm rate."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from kubedrift.stats.calibration import calibrate, false_alarm_rate
from kubedrift.stats.detectors import CUSUM, detections


def gaussian(seed: int, n: int, shift: float = 0.0, at: int = 0) -> np.ndarray:
    values = np.random.default_rng(seed).normal(size=n)
    values[at:] += shift
    return values


def bernoulli(seed: int, n: int, p0: float, p1: float | None = None, at: int = 0) -> np.ndarray:
    uniform = np.random.default_rng(seed).random(n)
    rates = np.full(n, p0)
    rates[at:] = p0 if p1 is None else p1
    return (uniform < rates).astype(float)


def test_each_statistic_is_the_cusum_for_its_shift_with_the_bar_moved_by_its_information() -> None:
    stream = gaussian(5, 3000, shift=0.3, at=1500)
    # Gaussian information per value of a 0.2-sigma shift: 0.2^2 / 2.
    bank = CUSUM(mean=0.0, std=1.0, threshold=8.0, shifts=(0.2,))
    tuned = CUSUM(mean=0.0, std=1.0, threshold=8.0 + math.log(0.02), shift=0.2)
    assert detections(bank, stream) == detections(tuned, stream) != []


def test_bernoulli_statistic_bar_uses_the_kullback_leibler_information() -> None:
    p0, shift = 0.15, 0.5
    p1 = p0 + shift * math.sqrt(p0 * (1 - p0))
    information = p0 * math.log(p0 / p1) + (1 - p0) * math.log((1 - p0) / (1 - p1))
    stream = bernoulli(6, 4000, p0, 0.25, at=2000)
    bank = CUSUM(mean=p0, threshold=8.0, shifts=(shift,), family="bernoulli")
    tuned = CUSUM(mean=p0, threshold=8.0 + math.log(information), shift=shift, family="bernoulli")
    assert detections(bank, stream) == detections(tuned, stream) != []


def test_bank_signals_as_soon_as_any_of_its_statistics_does() -> None:
    stream = gaussian(8, 3000, shift=0.5, at=2000)
    first = {
        shifts: detections(CUSUM(mean=0.0, std=1.0, shifts=shifts), stream)[0]
        for shifts in [(0.2,), (1.6,), (0.2, 1.6)]
    }
    assert first[(0.2, 1.6)] == min(first[(0.2,)], first[(1.6,)])
    assert first[(0.2,)] != first[(1.6,)]


def test_after_a_detection_the_bank_starts_again_like_a_fresh_detector() -> None:
    stream = gaussian(9, 4000, shift=1.0, at=1000)
    detector = CUSUM(mean=0.0, std=1.0)
    found = detections(detector, stream)
    first = found[0]
    again = detections(CUSUM(mean=0.0, std=1.0), stream[first + 1 :])
    assert found[1:] == [first + 1 + index for index in again]


def test_missing_reference_is_estimated_and_small_changes_dropped_below_its_uncertainty() -> None:
    stream = 5.0 + 2.0 * gaussian(10, 2000, shift=1.0, at=1000)
    warmup = stream[:100]
    # 100 warm-up values: alternatives below 4 / sqrt(100) = 0.4 sigma are dropped.
    known = CUSUM(mean=warmup.mean(), std=warmup.std(ddof=1), shifts=(0.4, 0.8, 1.6, 3.2))
    expected = 100 + detections(known, stream[100:])[0]
    assert detections(CUSUM(warmup=100), stream)[0] == expected


@pytest.mark.parametrize(
    ("make", "reference"),
    [
        (lambda seed: gaussian(seed, 5000), {"mean": 0.0, "std": 1.0}),
        (lambda seed: bernoulli(seed, 5000, 0.15), {"mean": 0.15, "family": "bernoulli"}),
    ],
    ids=["gaussian", "bernoulli"],
)
def test_calibrated_bank_keeps_its_false_alarm_rate_on_fresh_no_change_streams(
    make: Callable[[int], np.ndarray], reference: dict[str, Any]
) -> None:
    """Calibrated to one alarm per 1,000 values on 50,000 values (about 50 alarms), then run on
    50,000 values from other seeds. Both counts are near-Poisson with mean about 50, so the ratio
    of the fresh rate to the target has a standard deviation near sqrt(2 / 50) = 0.2: the bounds
    0.5 and 1.6 are about 2.5 and 3 standard deviations away."""
    target = 1000
    detector = CUSUM(**reference)
    calibration = [make(seed) for seed in range(10)]
    threshold = calibrate(detector, "threshold", calibration, target, low=1.0, high=30.0)
    fresh = [make(seed) for seed in range(100, 110)]
    rate = false_alarm_rate(detector.clone(threshold=threshold), fresh)
    assert 0.5 / target <= rate <= 1.6 / target


@pytest.mark.parametrize("shifts", [(), (0.0, 1.0), (-0.5,)])
def test_bank_needs_positive_shifts(shifts: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="shifts must be"):
        CUSUM(mean=0.0, std=1.0, shifts=shifts)
