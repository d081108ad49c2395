"""Joined prediction/label pairs, kept as sufficient statistics that add up across replicas.

Classification keeps a confusion matrix over the baseline's classes plus an "other" class (rows
are labels, columns predictions), so every classification metric and its bound can be computed
and two sketches merge by adding matrices. Regression keeps error sums: the count, the sums of
``|e|``, ``e^2`` and ``e^4`` (the last for the spread of squared errors), and for MAPE the count
of non-zero labels with the sums of ``|e/y|`` and ``(e/y)^2``. Memory is fixed by the number of
classes, whatever the number of labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from kubedrift.stats.binning import FloatArray, IntArray, category_keys

REGRESSION_SUMS = ("n", "abs", "sq", "quad", "ape_n", "ape", "ape_sq")


class LabeledSketch:
    """Confusion counts (``classes`` given) or regression error sums (``classes`` empty)."""

    def __init__(self, classes: Sequence[str] = ()) -> None:
        self.classes = tuple(classes)
        size = len(self.classes) + 1
        self.confusion: IntArray = np.zeros((size, size), dtype=np.int64)
        self.sums: FloatArray = np.zeros(len(REGRESSION_SUMS), dtype=np.float64)

    @property
    def is_classification(self) -> bool:
        return bool(self.classes)

    @property
    def count(self) -> int:
        if self.is_classification:
            return int(self.confusion.sum())
        return int(self.sums[0])

    def add(self, predictions: npt.NDArray[Any], labels: npt.NDArray[Any]) -> None:
        """Add a batch of joined pairs; pairs with a missing side are ignored."""
        if self.is_classification:
            label_index = self.class_index(labels)
            prediction_index = self.class_index(predictions)
            valid = (label_index >= 0) & (prediction_index >= 0)
            size = len(self.classes) + 1
            flat = label_index[valid] * size + prediction_index[valid]
            self.confusion += np.bincount(flat, minlength=size * size).reshape(size, size)
            return
        errors, truth = _regression_pairs(predictions, labels)
        nonzero = truth != 0
        ape = np.abs(errors[nonzero] / truth[nonzero])
        self.sums += np.array(
            [
                errors.size,
                np.abs(errors).sum(),
                (errors**2).sum(),
                (errors**4).sum(),
                ape.size,
                ape.sum(),
                (ape**2).sum(),
            ]
        )

    def class_index(self, values: npt.NDArray[Any]) -> IntArray:
        """Index of each value's class (``len(classes)`` for "other", -1 for missing)."""
        keys = category_keys(np.asarray(values))
        missing = keys == None  # noqa: E711
        strings = np.where(missing, "", keys).astype(str)
        ordered = np.asarray(self.classes, dtype=str)
        order = np.argsort(ordered)
        position = np.searchsorted(ordered[order], strings)
        clipped = np.minimum(position, len(ordered) - 1)
        found = ordered[order][clipped] == strings
        index = np.where(found, order[clipped], len(ordered)).astype(np.int64)
        return np.where(missing, -1, index)

    def merged(self, other: LabeledSketch) -> LabeledSketch:
        if other.classes != self.classes:
            raise ValueError("cannot merge labeled sketches over different classes")
        result = LabeledSketch(self.classes)
        result.confusion = self.confusion + other.confusion
        result.sums = self.sums + other.sums
        return result

    def to_dict(self) -> dict[str, Any]:
        if self.is_classification:
            return {"classes": list(self.classes), "confusion": self.confusion.tolist()}
        return {"sums": dict(zip(REGRESSION_SUMS, self.sums.tolist(), strict=True))}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabeledSketch:
        sketch = cls(tuple(str(c) for c in data.get("classes", ())))
        if sketch.is_classification:
            confusion = np.asarray(data["confusion"], dtype=np.int64)
            if confusion.shape != sketch.confusion.shape:
                raise ValueError("confusion matrix does not match the classes")
            sketch.confusion = confusion
        else:
            sums = data["sums"]
            sketch.sums = np.array([float(sums[key]) for key in REGRESSION_SUMS])
        return sketch


def error_stream(
    predictions: npt.NDArray[Any], labels: npt.NDArray[Any], *, classification: bool
) -> FloatArray:
    """Per-pair errors in arrival order for sequential detectors: 0/1 misclassification for
    classification, absolute error for regression. Pairs with a missing side are dropped."""
    if classification:
        predicted, truth = category_keys(np.asarray(predictions)), category_keys(np.asarray(labels))
        valid = (predicted != None) & (truth != None)  # noqa: E711
        wrong: FloatArray = (predicted[valid] != truth[valid]).astype(np.float64)
        return wrong
    errors, _ = _regression_pairs(predictions, labels)
    absolute: FloatArray = np.abs(errors)
    return absolute


def _regression_pairs(
    predictions: npt.NDArray[Any], labels: npt.NDArray[Any]
) -> tuple[FloatArray, FloatArray]:
    predicted = np.asarray(predictions, dtype=np.float64)
    truth = np.asarray(labels, dtype=np.float64)
    valid = ~(np.isnan(predicted) | np.isnan(truth))
    return predicted[valid] - truth[valid], truth[valid]
