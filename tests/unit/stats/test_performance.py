"""Performance metrics, their confidence bounds and the degradation rule."""

from __future__ import annotations

import numpy as np
import pytest

from kubedrift.stats.labels import LabeledSketch, error_stream
from kubedrift.stats.performance import assess, metric_interval, positive_class, wilson_interval
from kubedrift.stats.settings import PerformanceSettings


def classification(correct: int, wrong: int) -> LabeledSketch:
    sketch = LabeledSketch(("0", "1"))
    labels = np.array([1] * (correct + wrong))
    predictions = np.array([1] * correct + [0] * wrong)
    sketch.add(predictions, labels)
    return sketch


def test_wilson_interval_matches_the_closed_form() -> None:
    # 160 of 200 at z = 1.96: centre (0.8 + z²/400) / (1 + z²/200) = 0.794350, half-width
    # z sqrt(0.0008 + z²/160000) / (1 + z²/200) = 0.055205.
    low, high = wilson_interval(160, 200, 1.959963984540054)
    assert low == pytest.approx(0.73914, abs=1e-5)
    assert high == pytest.approx(0.84955, abs=1e-5)


def test_accuracy_below_threshold_with_enough_labels_is_degraded() -> None:
    result = assess(classification(320, 80), PerformanceSettings("accuracy", 0.85, 200))
    assert result.value == pytest.approx(0.80)
    assert result.degraded


def test_too_few_labels_is_never_degraded() -> None:
    result = assess(classification(80, 20), PerformanceSettings("accuracy", 0.85, 200))
    assert (result.samples, result.degraded) == (100, False)


def test_point_estimate_just_below_threshold_is_not_degraded_while_the_interval_straddles_it() -> (
    None
):
    result = assess(classification(168, 32), PerformanceSettings("accuracy", 0.85, 200))
    assert result.value == pytest.approx(0.84)
    assert result.upper_bound is not None and result.upper_bound > 0.85
    assert not result.degraded


def test_error_rate_degrades_when_its_lower_bound_exceeds_the_threshold() -> None:
    result = assess(classification(300, 100), PerformanceSettings("error-rate", 0.15, 200))
    assert result.value == pytest.approx(0.25)
    assert result.degraded


def test_precision_recall_and_f1_from_the_confusion_matrix() -> None:
    sketch = LabeledSketch(("0", "1"))
    # labels:      1 1 1 1 0 0 0 0 0 0 ; predictions: 1 1 1 0 1 1 0 0 0 0
    sketch.add(np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0]), np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0]))
    assert metric_interval(sketch, "precision", 0.95)[0] == pytest.approx(3 / 5)
    assert metric_interval(sketch, "recall", 0.95)[0] == pytest.approx(3 / 4)
    assert metric_interval(sketch, "f1", 0.95)[0] == pytest.approx(2 * 3 / (2 * 3 + 2 + 1))
    f1_zero = 2 * 4 / (2 * 4 + 1 + 2)
    f1_one = 2 * 3 / (2 * 3 + 2 + 1)
    value, low, high = metric_interval(sketch, "f1-macro", 0.95)
    assert value == pytest.approx((f1_zero + f1_one) / 2)
    assert value is not None and low is not None and high is not None
    assert low < value < high


def test_f1_bound_is_reproducible() -> None:
    sketch = classification(150, 50)
    assert metric_interval(sketch, "f1", 0.9) == metric_interval(sketch, "f1", 0.9)


def test_regression_errors_and_normal_bounds() -> None:
    sketch = LabeledSketch()
    truth = np.array([1.0, 2.0, 4.0, 8.0])
    sketch.add(truth + np.array([1.0, -1.0, 2.0, -2.0]), truth)
    mae, low, high = metric_interval(sketch, "mae", 0.95)
    assert mae == pytest.approx(1.5)
    spread = np.std([1, 1, 2, 2], ddof=1) / 2
    assert low == pytest.approx(1.5 - 1.959964 * spread)
    assert high == pytest.approx(1.5 + 1.959964 * spread)
    assert metric_interval(sketch, "rmse", 0.95)[0] == pytest.approx(np.sqrt(2.5))
    assert metric_interval(sketch, "mape", 0.95)[0] == pytest.approx((1 + 0.5 + 0.5 + 0.25) / 4)


def test_regression_metric_on_a_classifier_is_rejected() -> None:
    with pytest.raises(ValueError, match="does not apply to a classification model"):
        assess(classification(1, 1), PerformanceSettings("mae", 1.0))


def test_positive_class_defaults_to_one_then_last_sorted() -> None:
    assert positive_class(("0", "1"), None) == 1
    assert positive_class(("cat", "dog"), None) == 1
    assert positive_class(("cat", "dog"), "cat") == 0
    with pytest.raises(ValueError, match="not one of the classes"):
        positive_class(("cat", "dog"), "cow")


def test_unknown_classes_and_missing_pairs() -> None:
    sketch = LabeledSketch(("a", "b"))
    sketch.add(np.array(["a", "c", None], dtype=object), np.array(["a", "a", "b"], dtype=object))
    assert sketch.count == 2
    assert sketch.confusion[0].tolist() == [1, 0, 1]


def test_error_stream_in_arrival_order() -> None:
    stream = error_stream(np.array([1, 0, 1]), np.array([1, 1, 0]), classification=True)
    assert stream.tolist() == [0.0, 1.0, 1.0]
    assert error_stream(
        np.array([1.0, np.nan, 3.0]), np.array([2.0, 2.0, 1.0]), classification=False
    ).tolist() == [1.0, 2.0]
