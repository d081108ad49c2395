"""Model performance from joined labels, with a confidence interval and a degradation rule.

Interval methods (two-sided, at ``PerformanceSettings.confidence``):

- accuracy, error rate, precision, recall: Wilson score interval for the proportion over its own
  denominator (all pairs, predicted positives, actual positives).
- f1 and f1-macro: parametric bootstrap of the confusion matrix (multinomial resampling with the
  observed cell frequencies, ``BOOTSTRAP_DRAWS`` draws, fixed seed so that the bound is
  reproducible), percentile interval.
- mae, rmse, mape: normal approximation for a mean of per-pair losses (|e|, e^2 then square
  root, |e/y|) using the spread kept in the error sums.

A metric is *degraded* only when at least ``min_labeled_samples`` pairs are joined and the whole
interval is on the wrong side of the threshold: the upper bound below it for metrics where higher
is better, the lower bound above it for errors. A point estimate just under the threshold with few
labels is therefore not an alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kubedrift.stats.binning import IntArray
from kubedrift.stats.distributions import normal_quantile
from kubedrift.stats.labels import LabeledSketch
from kubedrift.stats.settings import Metric, PerformanceSettings

HIGHER_IS_BETTER: frozenset[str] = frozenset({"accuracy", "precision", "recall", "f1", "f1-macro"})
CLASSIFICATION_METRICS: frozenset[str] = HIGHER_IS_BETTER | {"error-rate"}
BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 20240917


@dataclass(frozen=True)
class PerformanceResult:
    metric: Metric
    value: float | None
    lower_bound: float | None
    upper_bound: float | None
    threshold: float
    samples: int
    degraded: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "value": self.value,
            "lower_bound": self.lower_bound,
            "threshold": self.threshold,
            "samples": self.samples,
            "degraded": self.degraded,
        }


def assess(sketch: LabeledSketch, settings: PerformanceSettings) -> PerformanceResult:
    """The metric, its interval and the degradation verdict for one labeled sketch."""
    if (settings.metric in CLASSIFICATION_METRICS) != sketch.is_classification:
        kind = "classification" if sketch.is_classification else "regression"
        raise ValueError(f"metric {settings.metric!r} does not apply to a {kind} model")
    value, low, high = metric_interval(
        sketch, settings.metric, settings.confidence, settings.positive_label
    )
    enough = sketch.count >= settings.min_labeled_samples
    degraded = False
    if enough and value is not None and low is not None and high is not None:
        if settings.metric in HIGHER_IS_BETTER:
            degraded = high < settings.threshold
        else:
            degraded = low > settings.threshold
    return PerformanceResult(
        settings.metric, value, low, high, settings.threshold, sketch.count, degraded
    )


def metric_interval(
    sketch: LabeledSketch, metric: Metric, confidence: float, positive: str | None = None
) -> tuple[float | None, float | None, float | None]:
    """(value, lower, upper) of ``metric``; all ``None`` when it is undefined (no data)."""
    z = normal_quantile(0.5 + confidence / 2)
    if sketch.is_classification:
        return _classification(sketch, metric, z, confidence, positive)
    n, abs_sum, sq, quad, ape_n, ape, ape_sq = sketch.sums.tolist()
    if metric == "mae":
        return _mean_interval(n, abs_sum, sq, z)
    if metric == "mape":
        return _mean_interval(ape_n, ape, ape_sq, z)
    mse, low, high = _mean_interval(n, sq, quad, z)
    if mse is None or low is None or high is None:
        return None, None, None
    return float(np.sqrt(mse)), float(np.sqrt(max(low, 0.0))), float(np.sqrt(high))


def wilson_interval(successes: float, trials: float, z: float) -> tuple[float, float]:
    """Wilson score interval for a proportion ``successes / trials`` (``trials > 0``)."""
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def positive_class(classes: tuple[str, ...], positive: str | None) -> int:
    """Index of the positive class: ``positive`` if given, else "1", "true" or "yes" when
    present, else the last class in sorted order."""
    if positive is not None:
        if positive not in classes:
            raise ValueError(f"positive label {positive!r} is not one of the classes {classes}")
        return classes.index(positive)
    for name in ("1", "true", "True", "yes"):
        if name in classes:
            return classes.index(name)
    return classes.index(sorted(classes)[-1])


def _classification(
    sketch: LabeledSketch, metric: Metric, z: float, confidence: float, positive: str | None
) -> tuple[float | None, float | None, float | None]:
    confusion = sketch.confusion
    n = int(confusion.sum())
    p = positive_class(sketch.classes, positive)
    if metric in ("accuracy", "error-rate"):
        correct = int(np.trace(confusion))
        hits = correct if metric == "accuracy" else n - correct
        return _proportion(hits, n, z)
    if metric == "precision":
        return _proportion(int(confusion[p, p]), int(confusion[:, p].sum()), z)
    if metric == "recall":
        return _proportion(int(confusion[p, p]), int(confusion[p, :].sum()), z)
    if n == 0:
        return None, None, None
    score = _f1_macro if metric == "f1-macro" else lambda c: _f1_binary(c, p)
    value = float(score(confusion[None])[0])
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws = rng.multinomial(n, confusion.ravel() / n, size=BOOTSTRAP_DRAWS)
    scores = score(draws.reshape(BOOTSTRAP_DRAWS, *confusion.shape))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(scores, [tail, 100 - tail])
    return value, float(low), float(high)


def _proportion(
    hits: int, trials: int, z: float
) -> tuple[float | None, float | None, float | None]:
    if trials == 0:
        return None, None, None
    low, high = wilson_interval(hits, trials, z)
    return hits / trials, low, high


def _f1_binary(confusions: IntArray, p: int) -> npt.NDArray[np.float64]:
    tp = confusions[:, p, p].astype(np.float64)
    denominator = confusions[:, p, :].sum(axis=1) + confusions[:, :, p].sum(axis=1)
    f1: npt.NDArray[np.float64] = np.divide(
        2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0
    )
    return f1


def _f1_macro(confusions: IntArray) -> npt.NDArray[np.float64]:
    """Mean F1 over the classes seen as a label or a prediction in the observed matrix."""
    tp = np.diagonal(confusions, axis1=1, axis2=2).astype(np.float64)
    denominator = confusions.sum(axis=2) + confusions.sum(axis=1)
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    seen = denominator.sum(axis=0) > 0
    means: npt.NDArray[np.float64] = (
        f1[:, seen].mean(axis=1) if seen.any() else np.zeros(len(confusions))
    )
    return means


def _mean_interval(
    n: float, total: float, squares: float, z: float
) -> tuple[float | None, float | None, float | None]:
    if n == 0:
        return None, None, None
    mean = total / n
    spread = np.sqrt(max(squares / n - mean * mean, 0.0) / max(n - 1, 1))
    return mean, float(max(mean - z * spread, 0.0)), float(mean + z * spread)


def reference_performance(
    task: str, predictions: npt.NDArray[Any], labels: npt.NDArray[Any], classes: tuple[str, ...]
) -> dict[str, float]:
    """Point values of the task's metrics on the training data, stored in the baseline."""
    sketch = LabeledSketch(classes if task == "classification" else ())
    sketch.add(predictions, labels)
    names: tuple[Metric, ...] = (
        ("accuracy", "error-rate", "f1-macro")
        if task == "classification"
        else ("mae", "rmse", "mape")
    )
    values: dict[str, float | None] = {
        name: metric_interval(sketch, name, 0.95)[0] for name in names if name != "f1-macro"
    }
    if task == "classification" and sketch.count:
        values["f1-macro"] = float(_f1_macro(sketch.confusion[None])[0])
    return {name: value for name, value in values.items() if value is not None}
