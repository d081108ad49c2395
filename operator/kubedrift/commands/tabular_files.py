"""Reading tabular files into columns for ``kubedrift baseline``, ``check`` and ``backtest``.

CSV goes through the standard library's ``csv`` module: the first row names the columns; a
column whose non-empty cells all parse as numbers becomes a float array (empty cells -> NaN),
any other column an object array of strings (empty cells -> None). Parquet (``.parquet``/``.pq``)
needs pyarrow, the optional ``parquet`` extra. Problems raise :class:`InputError` with a message
that names the file, the row or the column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from kubedrift.stats.baseline import Baseline

Columns = dict[str, npt.NDArray[Any]]
PARQUET_SUFFIXES = (".parquet", ".pq")


class InputError(Exception):
    """The input cannot be used; the message says why (exit code 2)."""


def read_table(path: Path) -> Columns:
    """Columns of a CSV or Parquet file, in file order."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return _read_parquet(path)
    return _read_csv(path)


def _read_csv(path: Path) -> Columns:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or not any(name.strip() for name in header):
            raise InputError(f"{path}: the file is empty (expected a header row)")
        names = [name.strip() for name in header]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise InputError(f"{path}: duplicate column name(s) {', '.join(duplicated)}")
        cells: list[list[str]] = [[] for _ in names]
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(names):
                raise InputError(
                    f"{path}: row {line} has {len(row)} fields, the header has {len(names)}"
                )
            for column, value in zip(cells, row, strict=True):
                column.append(value)
    if not cells[0]:
        raise InputError(f"{path}: no data rows after the header")
    return {name: _column(values) for name, values in zip(names, cells, strict=True)}


def _column(values: list[str]) -> npt.NDArray[Any]:
    stripped = [value.strip() for value in values]
    try:
        numbers = [float(value) if value else math.nan for value in stripped]
    except ValueError:
        return np.array([value or None for value in stripped], dtype=object)
    array = np.array(numbers, dtype=np.float64)
    if np.isinf(array).any():
        return np.array([value or None for value in stripped], dtype=object)
    return array


def _read_parquet(path: Path) -> Columns:
    try:
        import pyarrow.parquet as pq  # noqa: PLC0415 - optional dependency
    except ImportError as error:
        raise InputError(
            f"{path}: reading Parquet needs pyarrow, which is not installed; "
            "install it with: pip install 'kubedrift[parquet]' (or use CSV)"
        ) from error
    table = pq.read_table(path)
    if table.num_rows == 0:
        raise InputError(f"{path}: no data rows")
    columns: Columns = {}
    for name in table.column_names:
        values = table.column(name).to_pylist()
        if all(
            v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values
        ):
            columns[name] = np.array([math.nan if v is None else v for v in values], dtype=float)
        else:
            columns[name] = np.array([None if v is None else str(v) for v in values], dtype=object)
    return columns


def require_columns(columns: Mapping[str, Any], names: Iterable[str], path: Path) -> None:
    """Raise :class:`InputError` listing every name in ``names`` missing from ``columns``."""
    missing = [name for name in names if name not in columns]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        raise InputError(f"{path}: missing column(s) {listed}; it has {', '.join(columns)}")


def require_numeric(
    columns: Mapping[str, npt.NDArray[Any]], names: Sequence[str], path: Path
) -> None:
    """Raise :class:`InputError` when a column expected to be numeric holds text."""
    for name in names:
        values = columns[name]
        if values.dtype.kind != "f":
            example = next(v for v in values if v is not None)
            raise InputError(
                f"{path}: column {name!r} must be numeric (it is numeric in the "
                f"baseline) but holds {example!r}"
            )


def split_list(text: str | None) -> list[str]:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; ``None`` -> ``[]``."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def baseline_inputs(
    baseline: Baseline, columns: Mapping[str, npt.NDArray[Any]], path: Path
) -> tuple[Columns, npt.NDArray[Any] | None, npt.NDArray[Any] | None]:
    """The feature columns, predictions and labels of ``columns`` for ``baseline``.

    Every baseline feature must be present, with numbers where the baseline says numeric, and
    every embedding block's columns ``<name>-0 ..``, which become one ``rows x d`` array under
    the block's name; the prediction and label columns are optional (no prediction drift / no
    performance without).
    """
    require_columns(columns, baseline.feature_names, path)
    numeric = [p.name for p in baseline.features if p.type == "numeric"]
    prediction = baseline.prediction
    predictions = None
    if prediction is not None and prediction.name in columns:
        predictions = columns[prediction.name]
        if prediction.type == "numeric":
            numeric.append(prediction.name)
    blocks = {b.name: [f"{b.name}-{j}" for j in range(b.width)] for b in baseline.embeddings}
    for names in blocks.values():
        require_columns(columns, names, path)
        numeric.extend(names)
    require_numeric(columns, numeric, path)
    labels = columns.get(baseline.label) if baseline.label else None
    rows = {name: columns[name] for name in baseline.feature_names}
    for block, names in blocks.items():
        # an embedding block is one rows x d array (``stats.embedding``)
        rows[block] = np.column_stack([np.asarray(columns[n], dtype=np.float64) for n in names])
    return rows, predictions, labels


def load_baseline(path: Path) -> Baseline:
    """Read a baseline JSON file, turning every problem into an :class:`InputError`."""
    from kubedrift.stats.baseline import Baseline, BaselineError  # noqa: PLC0415

    try:
        return Baseline.from_json(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"{path}: cannot read the baseline: {error.strerror}") from error
    except BaselineError as error:
        raise InputError(f"{path}: {error}") from error
