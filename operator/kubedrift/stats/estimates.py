"""The estimated metrics of a window next to the realized ones, for the status and the metrics.

:func:`side_by_side` estimates every metric of ``stats.estimation`` from a window's estimation
sums and, once labels have been joined, computes the same metric from the window's confusion
matrix over the same classes (the positive class of a binary model is the calibration map's
second class, macro averages over the classes otherwise; ROC AUC is not realized, the confusion
matrix cannot give it).

>>> import numpy as np
>>> from kubedrift.stats.baseline import build_baseline
>>> from kubedrift.stats.window import Window
>>> rng = np.random.default_rng(2)
>>> p = rng.uniform(size=5_000)
>>> y = (rng.uniform(size=p.size) < p).astype(int)
>>> baseline = build_baseline({"x": p, "pred": (p >= 0.5).astype(int), "y": y},
...                           features=["x"], prediction="pred", label="y", probabilities=["x"])
>>> window = Window(baseline, start=0.0)
>>> window.add_probabilities(p[:1000, None])
>>> table = side_by_side(window, baseline, confidence=0.95)
>>> round(table["accuracy"].estimate.value, 3), table["accuracy"].realized
(0.749, None)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from kubedrift.stats.baseline import Baseline
from kubedrift.stats.estimation import Estimate, estimate
from kubedrift.stats.window import Window


@dataclass(frozen=True)
class SideBySide:
    """One metric: the estimate with its band, the realized value (``None`` without labels),
    the rows estimated and the labels realized over."""

    estimate: Estimate
    realized: float | None
    rows: int
    labeled: int


def side_by_side(window: Window, baseline: Baseline, confidence: float) -> dict[str, SideBySide]:
    """Estimated and realized metrics of ``window``; empty without estimation sums."""
    calibration = baseline.calibration
    sketch = window.estimation
    if calibration is None or sketch is None or sketch.rows == 0:
        return {}
    estimates = estimate(sketch, calibration, confidence)
    confusion = window.labels.confusion if window.labels.is_classification else None
    realized = _realized(confusion, len(calibration.classes))
    labeled = 0 if confusion is None else int(confusion.sum())
    return {
        name: SideBySide(value, realized.get(name), sketch.rows, labeled)
        for name, value in estimates.items()
    }


def estimated_dict(table: Mapping[str, SideBySide]) -> dict[str, Any]:
    """The JSON of the backtest's ``estimated_performance`` (a non-empty ``table``): rows and
    labels, then per metric its estimate, band and realized value (``None`` without labels)."""
    first = next(iter(table.values()))
    return {
        "rows": first.rows,
        "labeled": first.labeled,
        **{
            name: {
                "value": entry.estimate.value,
                "lower": entry.estimate.lower,
                "upper": entry.estimate.upper,
                "realized": entry.realized,
            }
            for name, entry in table.items()
        },
    }


def _realized(confusion: np.ndarray | None, k: int) -> dict[str, float]:
    if confusion is None or confusion.shape[0] < k or confusion.sum() == 0:
        return {}
    matrix = confusion.astype(np.float64)
    n = matrix.sum()
    tp = np.diagonal(matrix)[:k]
    predicted = matrix[:, :k].sum(axis=0)
    actual = matrix[:k, :].sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros(k), where=actual > 0)
    both = predicted + actual
    f1 = np.divide(2 * tp, both, out=np.zeros(k), where=both > 0)
    chosen = [1] if k == 2 else list(range(k))
    return {
        "accuracy": float(tp.sum() / n),
        "precision": float(precision[chosen].mean()),
        "recall": float(recall[chosen].mean()),
        "f1": float(f1[chosen].mean()),
    }
