"""Parsed exchanges -> the numpy columns a window takes, typed by the baseline.

Numeric baseline columns become float arrays (NaN for missing or non-numeric cells, booleans 0/1);
categorical ones object arrays of the raw values (None for missing), which the statistics core
turns into canonical keys. Columns the baseline does not know are left out here rather than
ignored later, so a payload with many extra fields costs nothing downstream.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from kubedrift.payloads import Value
from kubedrift.stats.baseline import Baseline, FeatureProfile

Columns = dict[str, npt.NDArray[Any]]


def _number(value: Value) -> float:
    if value is None:
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except ValueError:
        return math.nan


def column_array(profile: FeatureProfile, values: Sequence[Value]) -> npt.NDArray[Any]:
    """One column typed for ``profile``: float with NaN, or object with None."""
    if profile.type == "numeric":
        try:
            return np.array(values, dtype=np.float64)  # numbers and None (-> NaN) at C speed
        except (TypeError, ValueError):
            return np.fromiter((_number(v) for v in values), dtype=np.float64, count=len(values))
    array = np.empty(len(values), dtype=object)
    array[:] = [None if v is None else v for v in values]
    return array


def to_columns(
    baseline: Baseline, rows: Iterable[Mapping[str, Sequence[Any]]], size: int
) -> Columns:
    """Concatenate per-exchange column dicts (each of ``rows``' values has the same length
    within one dict) into one array per baseline feature; absent columns become missing."""
    merged: dict[str, list[Any]] = {name: [] for name in baseline.feature_names}
    filled = 0
    for table in rows:
        count = len(next(iter(table.values()))) if table else 0
        for name, cells in merged.items():
            found = table.get(name)
            cells.extend(found if found is not None else [None] * count)
        filled += count
    if filled != size:
        raise ValueError("row count does not match the columns")
    return {name: column_array(baseline.feature(name), cells) for name, cells in merged.items()}


def prediction_array(baseline: Baseline, predictions: Sequence[Value]) -> npt.NDArray[Any] | None:
    """The predictions typed like the baseline's prediction profile (``None`` if not profiled)."""
    if baseline.prediction is None:
        return None
    return column_array(baseline.prediction, predictions)


def label_array(baseline: Baseline, labels: Sequence[Value]) -> npt.NDArray[Any]:
    """Labels typed for the performance sketch: classes as objects, regression targets as floats."""
    if baseline.task == "regression":
        return np.fromiter((_number(v) for v in labels), dtype=np.float64, count=len(labels))
    array = np.empty(len(labels), dtype=object)
    array[:] = list(labels)
    return array
