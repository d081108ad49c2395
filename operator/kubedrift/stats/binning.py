"""Turning raw column values into reference bins, the common currency of baselines and windows.

Numeric features use quantile edges computed once on the training data. The edges are the inner
cut points only: bin ``0`` is ``(-inf, edges[0]]``, bin ``i`` is ``(edges[i-1], edges[i]]`` and the
last bin is ``(edges[-1], +inf)``, so a value outside the training range still lands in an outer
bin (and is also counted as out of range). Categorical features use a vocabulary of the most
frequent training values plus a final "other" bin for everything else.

Every function here is vectorized: one call per column per batch, never a Python loop per value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Name of the catch-all bin that ends every categorical vocabulary in reports.
OTHER = "__other__"


def quantile_edges(values: FloatArray, bins: int) -> FloatArray:
    """Inner cut points of ``bins`` equal-frequency bins over the finite ``values``.

    Ties collapse duplicate edges, so a column with few distinct values gets fewer bins.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0 or bins < 2:
        return np.empty(0, dtype=np.float64)
    probabilities = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    edges = np.unique(np.quantile(finite, probabilities))
    # An edge equal to the maximum would leave the last bin empty on the training data itself.
    kept: FloatArray = edges[edges < finite.max()]
    return kept


def numeric_bin_counts(values: FloatArray, edges: FloatArray) -> IntArray:
    """Counts of the non-missing ``values`` per bin (``len(edges) + 1`` bins)."""
    present = values[~np.isnan(values)]
    index = np.searchsorted(edges, present, side="left")
    return np.bincount(index, minlength=edges.size + 1).astype(np.int64)


def category_keys(values: npt.NDArray[np.generic]) -> npt.NDArray[np.object_]:
    """Canonical string keys for categorical values; ``None`` marks a missing value.

    Strings stay as they are; integral floats print without a decimal point (``1.0`` -> ``"1"``)
    so that a label column read as floats matches one read as strings; NaN and None are missing.
    """
    if values.dtype.kind in "fiub":
        numbers = values.astype(np.float64)
        missing = np.isnan(numbers)
        integral = ~missing & (numbers == np.round(numbers)) & (np.abs(numbers) < 2**53)
        keys = np.empty(values.shape, dtype=object)
        keys[integral] = numbers[integral].astype(np.int64).astype(str)
        other = ~missing & ~integral
        keys[other] = numbers[other].astype(str)
        keys[missing] = None
        return keys
    keys = np.asarray(values, dtype=object).copy()
    # Elementwise comparisons run in C: ``== None`` finds None, ``!= itself`` finds NaN.
    missing = np.asarray((keys == None) | (keys != keys), dtype=bool)  # noqa: E711, PLR0124
    keys[missing] = None
    present = ~missing
    keys[present] = keys[present].astype(str)
    return keys


def categorical_bin_counts(keys: npt.NDArray[np.object_], vocabulary: Sequence[str]) -> IntArray:
    """Counts per vocabulary entry plus a final "other" bin, for canonical ``keys``."""
    present = keys[keys != None]  # noqa: E711 - elementwise comparison on an object array
    counts = np.zeros(len(vocabulary) + 1, dtype=np.int64)
    if present.size == 0:
        return counts
    values, value_counts = np.unique(present.astype(str), return_counts=True)
    position = {name: i for i, name in enumerate(vocabulary)}
    for value, count in zip(values.tolist(), value_counts.tolist(), strict=True):
        counts[position.get(value, len(vocabulary))] += count
    return counts
