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
from typing import NamedTuple

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


#: Longest run of values sorted as one row. numpy's vectorized sort is about twice as fast per
#: value on rows of up to 256 float64 as on longer ones, so longer batches are cut into chunks
#: of at most this length and their counts added up.
SORT_CHUNK = 256

#: Values per block of the two-step search: the comparisons of one block with an edge are eight
#: bytes of 0 or 1, read as one 64-bit word and counted with one multiplication.
BLOCK = 8
_BYTE_SUM = np.uint64(
    0x0101010101010101
)  # w * _BYTE_SUM holds the sum of w's bytes in its top byte
_TOP_BYTE = np.uint64(56)

#: Batch layouts whose search tables a :class:`SearchTables` keeps.
LAYOUTS = 8


class EdgeCounter:
    """For every row of a matrix, how many of its values lie above each of that row's edges.

    Use it to bin a batch of many numeric columns at once, each against its own edges (the
    window's hot path); :func:`numeric_bin_counts` is the plain one-column form. ``edges`` has
    one ascending row per matrix row, padded on the right with ``+inf`` (nothing is above it).

    Each row is sorted in chunks of at most :data:`SORT_CHUNK` values (padded with ``-inf`` to
    whole blocks of :data:`BLOCK`); the number of values at or below an edge is then its
    insertion point in the chunk, found in two steps for all edges and chunks at once:

    1. The last value of every block, as ``chunk + 1j * value``, goes into one array of complex
       numbers. numpy orders complex numbers lexicographically, real part first, so that array
       is sorted across all chunks, and one ``np.searchsorted`` of ``chunk + 1j * edge`` gives
       every edge the first block of its chunk whose last value is above it.
    2. That block is compared with the edge (one 64-byte row per edge); its values at or below
       the edge complete the count.

    Sorting a value costs about as much as comparing it with two edges and counting, where
    counting by comparison needs one pass per edge (11 with the default 10 bins); the search
    costs a few dozen operations per edge and chunk, whatever the number of values. The tables the
    search needs for a batch layout come from a :class:`SearchTables`, which counters over the same
    edges can share.

    >>> counter = EdgeCounter(np.array([[0.0, 1.0], [5.0, np.inf]]))
    >>> counter.above(np.array([[-1.0, 0.5, 2.0, 3.0], [9.0, 1.0, 5.0, -np.inf]])).tolist()
    [[3, 2], [1, 0]]
    """

    def __init__(self, edges: FloatArray, tables: SearchTables | None = None) -> None:
        """``tables``, when given, must be built on the same ``edges``: counters sharing one
        skip building the search tables of a batch layout each time."""
        self.edges = edges
        self._tables = SearchTables(edges) if tables is None else tables
        if self._tables.edges is not edges:
            raise ValueError("the search tables were built on other edges")
        self._layout_key = (-1, -1)
        self._layout: Layout | None = None
        self._block_ends: npt.NDArray[np.complex128] = np.empty((0, 0), dtype=np.complex128)

    def above(self, matrix: FloatArray) -> IntArray:
        """``result[i, j]`` counts the values of ``matrix[i]`` greater than ``edges[i, j]``.

        ``matrix`` has one row per row of ``edges`` and must be C-contiguous float64 without
        NaN (write missing values as ``-inf``: never above an edge). It may be sorted in place,
        chunk by chunk along its rows: pass an array whose order no longer matters.
        """
        rows, size = matrix.shape
        chunks = -(-size // SORT_CHUNK)
        width = BLOCK * -(-size // (chunks * BLOCK))
        if chunks * width == size:
            values = matrix.reshape(rows * chunks, width)
        else:
            values = np.full((rows, chunks * width), -np.inf)
            values[:, :size] = matrix
            values = values.reshape(rows * chunks, width)
        values.sort(axis=1)
        layout = self._layout
        if layout is None or self._layout_key != (chunks, width):
            self._layout_key = (chunks, width)
            layout = self._layout = self._tables.layout(chunks, width)
            # Scratch of this counter: the chunk numbers stay, the block ends change per batch.
            self._block_ends = np.empty((rows * chunks, width // BLOCK), dtype=np.complex128)
            self._block_ends.real = layout.chunk_rows
        self._block_ends.imag = values[:, BLOCK - 1 :: BLOCK]
        first_above = np.searchsorted(self._block_ends.ravel(), layout.queries, side="right")
        # When no block ends above the edge, the chunk's last block (wholly at or below) is used.
        block = np.minimum(first_above, layout.last_block)
        compared = np.take(values.reshape(-1, BLOCK), block, axis=0) <= layout.query_edges
        in_block = ((compared.view(np.uint64).ravel() * _BYTE_SUM) >> _TOP_BYTE).view(np.int64)
        # Values up to the edge sit before position BLOCK * block + in_block of the sorted chunks.
        block *= BLOCK
        block += in_block
        above: IntArray = layout.chunk_ends - block
        if chunks > 1:
            above = above.reshape(rows, chunks, -1).sum(axis=1)
        return above.reshape(rows, -1)


class Layout(NamedTuple):
    """Read-only search tables of :class:`EdgeCounter` for one batch layout."""

    #: Chunk number of every sorted chunk, as a column (the real part of its block ends).
    chunk_rows: FloatArray
    #: ``chunk + 1j * edge`` for every edge of every chunk.
    queries: npt.NDArray[np.complex128]
    #: The edge of every query, as a column.
    query_edges: FloatArray
    #: Index of the last block of each query's chunk, and the end of the chunk in values.
    last_block: IntArray
    chunk_ends: IntArray


class SearchTables:
    """The :class:`Layout` of one edge table per batch layout, built on first use.

    Counters over the same edges share one (a window plan holds it for every window of a
    baseline). The tables are read-only; only the memo changes, keeping the :data:`LAYOUTS`
    layouts built last, so batches of ever different sizes cannot grow it.
    """

    def __init__(self, edges: FloatArray) -> None:
        self.edges = edges
        self._layouts: dict[tuple[int, int], Layout] = {}

    def __len__(self) -> int:
        """Layouts kept (at most :data:`LAYOUTS`)."""
        return len(self._layouts)

    def layout(self, chunks: int, width: int) -> Layout:
        found = self._layouts.get((chunks, width))
        if found is None:
            found = self._build(chunks, width)
            if len(self._layouts) >= LAYOUTS:
                del self._layouts[next(iter(self._layouts))]
            self._layouts[(chunks, width)] = found
        return found

    def _build(self, chunks: int, width: int) -> Layout:
        rows, count = self.edges.shape
        chunk_rows = np.arange(rows * chunks)
        blocks = width // BLOCK
        # Set the parts separately: 1j * inf would be nan + inf j.
        queries = np.empty((rows * chunks, count), dtype=np.complex128)
        queries.real = chunk_rows[:, None]
        queries.imag = np.repeat(self.edges, chunks, axis=0)
        last_block = np.repeat(chunk_rows * blocks, count) + blocks - 1
        layout = Layout(
            chunk_rows=chunk_rows[:, None].astype(np.float64),
            queries=queries.ravel(),
            query_edges=queries.imag.reshape(-1, 1).copy(),
            last_block=last_block,
            chunk_ends=(last_block + 1) * BLOCK,
        )
        for array in layout:
            array.flags.writeable = False
        return layout
