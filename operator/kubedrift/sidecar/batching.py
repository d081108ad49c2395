"""Parsed exchanges -> the numpy columns a window takes, typed by the baseline.

Numeric baseline columns become float arrays (NaN for missing or non-numeric cells, booleans 0/1);
categorical ones object arrays of the raw values (None for missing), which the statistics core
turns into canonical keys. Columns the baseline does not know are left out here rather than
ignored later, so a payload with many extra fields costs nothing downstream.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from kubedrift.payloads import Value
from kubedrift.payloads.model import RowMajorColumns, blocks_in
from kubedrift.payloads.tables import row_count
from kubedrift.stats.baseline import Baseline, FeatureProfile

Columns = dict[str, npt.NDArray[Any]]


def _number(value: Value) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (ValueError, OverflowError):  # not a number, or an integer beyond the float range
        return math.nan


def column_array(profile: FeatureProfile, values: Sequence[Value]) -> npt.NDArray[Any]:
    """One column typed for ``profile``: float with NaN, or object with None."""
    if profile.type == "numeric":
        try:
            return np.array(values, dtype=np.float64)  # numbers and None (-> NaN) at C speed
        except (TypeError, ValueError, OverflowError):
            return np.fromiter((_number(v) for v in values), dtype=np.float64, count=len(values))
    array = np.empty(len(values), dtype=object)
    array[:] = [None if v is None else v for v in values]
    return array


def to_columns(
    baseline: Baseline, rows: Iterable[Mapping[str, Sequence[Any]]], size: int
) -> Columns:
    """Concatenate per-exchange column dicts (each of ``rows``' values has the same length
    within one dict) into one array per baseline feature; absent columns become missing.

    Exchanges that all came as row-major blocks of one layout (``[n, d]`` tensors, list rows;
    :class:`~kubedrift.payloads.model.RowMajorColumns`) take one conversion for the whole batch;
    the result is the same as column by column.
    """
    tables = list(rows)
    columns = _plain_columns(baseline, tables, size)
    for block in baseline.embeddings:
        columns[block.name] = _embedding_array(block.name, block.width, tables)
    return columns


def _plain_columns(
    baseline: Baseline, tables: list[Mapping[str, Sequence[Any]]], size: int
) -> Columns:
    if tables and isinstance(tables[0], RowMajorColumns):
        blocks = _from_blocks(baseline, tables, size)
        if blocks is not None:
            return blocks
    merged: dict[str, list[Any]] = {name: [] for name in baseline.feature_names}
    filled = 0
    for table in tables:
        count = len(next(iter(table.values()))) if table else 0
        for name, cells in merged.items():
            found = table.get(name)
            cells.extend(found if found is not None else [None] * count)
        filled += count
    if filled != size:
        raise ValueError("row count does not match the columns")
    return {name: column_array(baseline.feature(name), cells) for name, cells in merged.items()}


def _embedding_array(
    name: str, width: int, tables: list[Mapping[str, Sequence[Any]]]
) -> npt.NDArray[np.float64]:
    """Embedding block ``name``'s ``rows x width`` values (``stats.embedding``): each
    exchange's tensor block converted in one go, its ``<name>-j`` columns when it came column by
    column, NaN rows when it lacks the block (or a cell is not a number)."""
    parts: list[npt.NDArray[np.float64]] = []
    for table in cast(list[Mapping[str, list[Value]]], tables):
        count = row_count(table) if table else 0
        found = next((b for b in blocks_in(table) if b.layout.tensor == name), None)
        try:
            if found is not None and found.width == width:
                parts.append(np.array(found.cells, dtype=np.float64).reshape(count, width))
                continue
            cells = [table.get(f"{name}-{j}") for j in range(width)]
            if all(c is not None for c in cells):
                parts.append(np.array(cells, dtype=np.float64).reshape(width, count).T)
                continue
        except (TypeError, ValueError, OverflowError):
            pass
        parts.append(np.full((count, width), np.nan))
    if not parts:
        return np.empty((0, width))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _from_blocks(
    baseline: Baseline, tables: list[Mapping[str, Sequence[Any]]], size: int
) -> Columns | None:
    """:func:`to_columns` for blocks sharing one layout: numeric features are the columns of one
    float matrix. None when the batch is not like that, or a cell is not a number (the column by
    column path then decides, with the same result as ever)."""
    layout = cast(RowMajorColumns, tables[0]).layout
    if not all(isinstance(t, RowMajorColumns) and t.layout is layout for t in tables):
        return None
    blocks = cast(list[RowMajorColumns], tables)
    cells = (
        blocks[0].cells if len(blocks) == 1 else list(chain.from_iterable(b.cells for b in blocks))
    )
    width = len(layout.names)
    if len(cells) != size * width:
        raise ValueError("row count does not match the columns")
    try:
        # Rows to columns in one copy: each feature's column is then contiguous.
        matrix = np.array(cells, dtype=np.float64).reshape(size, width).T.copy()
    except (TypeError, ValueError, OverflowError):
        return None
    columns: Columns = {}
    for profile in baseline.features:
        name = profile.name
        position = layout.positions.get(name)
        if position is None:
            columns[name] = column_array(profile, [None] * size)
        elif profile.type == "numeric":
            columns[name] = matrix[position]
        else:
            columns[name] = column_array(profile, cells[position::width])
    return columns


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
