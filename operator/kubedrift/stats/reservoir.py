"""Bounded uniform samples that merge exactly: bottom-k sampling on random priority keys.

Every arriving row gets an independent uniform key in [0, 1); a reservoir keeps the ``capacity``
rows with the smallest keys. That set is a uniform sample without replacement of everything seen,
and the union of two reservoirs, cut back to the ``capacity`` smallest keys, is exactly the
reservoir of the union of their inputs. So merging replicas' reservoirs is associative,
commutative and stays uniform however unequal the replicas' traffic was: the key plays the role
of the weight that a classic Algorithm-R merge would have to apply by hand.

Two kinds share this rule: :class:`ArrayReservoir` keeps float rows in a matrix (the numeric
feature sample on the hot path), :class:`RowReservoir` keeps arbitrary JSON-able rows (the
labeled rows handed to a retraining Job).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kubedrift.stats.binning import FloatArray, IntArray

#: Pending batches referenced by a reservoir (see :class:`ArrayReservoir`) are settled once they
#: hold this many times its capacity in rows: a window of the default size (twice the capacity)
#: plus its last batch fits, so a window that is never read never copies a row into its sample.
REFERENCED_ROWS = 3


class ArrayReservoir:
    """A bottom-k sample of float rows with ``width`` columns (NaN allowed).

    The sample is kept by column (``width`` x ``capacity``), the layout of a batch. A batch costs
    one comparison of its keys with the cut-off (the largest kept key; none while the sample
    fills), and its rows that beat it, at most ``capacity`` of them, wait in a pending list:
    copied out of the batch, or, when at least half of the batch may enter and the caller hands
    the batch over (``owned``), as a reference to the whole batch. Pending rows are settled when
    the sample is read, or once the pending list holds :data:`REFERENCED_ROWS` times the
    capacity in rows while it references a batch (a quarter of the capacity otherwise): one
    partial sort of the keys picks the ``capacity`` smallest, and the winning pending rows,
    gathered once from each batch, take the free slots and those of the rows they push out. So
    a fresh window's first batches are neither copied nor sorted out until needed, at the price
    of holding up to ``REFERENCED_ROWS * capacity`` rows of batches (plus the last one). The
    sample is put in key order only when it is read. The kept rows are the same as if every
    batch were merged at once.
    """

    def __init__(self, capacity: int, width: int) -> None:
        self.capacity = capacity
        self.width = width
        self._size = 0
        self._keys: FloatArray = np.empty(0, dtype=np.float64)
        self._columns: FloatArray = np.empty((width, 0), dtype=np.float64)
        #: (keys, columns, index): the pending rows are ``columns[:, index]`` (all columns when
        #: ``index`` is None).
        self._pending: list[tuple[FloatArray, FloatArray, IntArray | None]] = []
        #: Rows held by the pending list (whole batches when referenced).
        self._held = 0
        self._referenced = False
        self._threshold = np.inf
        self._ordered = True

    @property
    def keys(self) -> FloatArray:
        """The kept keys in ascending order (a copy)."""
        return self._read()[0].copy()

    @property
    def values(self) -> FloatArray:
        """The kept rows in key order, one row per key (a copy)."""
        return self._read()[1].T.copy()

    def __len__(self) -> int:
        self._settle()
        return self._size

    def offer(self, keys: FloatArray, columns: FloatArray, *, owned: bool = False) -> bool:
        """Consider a batch laid out by column: row ``i`` is ``columns[:, i]``, its priority
        ``keys[i]``. The rows that may enter are copied, so the caller may reuse ``columns``,
        unless ``owned``: then the reservoir may keep ``columns`` itself, and returns True when
        it did (the caller must then leave the array as it is).
        """
        chosen = np.flatnonzero(keys < self._threshold)
        if chosen.size == 0:
            return False
        if chosen.size > self.capacity:
            # Rows beyond the batch's own ``capacity`` smallest keys can never enter.
            chosen = chosen[np.argpartition(keys[chosen], self.capacity - 1)[: self.capacity]]
        kept = owned and 2 * chosen.size >= keys.size
        if kept:
            self._pending.append((keys[chosen], columns, chosen))
            self._referenced = True
            self._held += keys.size
        else:
            taken = np.take(columns, chosen, axis=1).astype(np.float64, copy=False)
            self._pending.append((keys[chosen], taken, None))
            self._held += chosen.size
        if self._held >= (
            REFERENCED_ROWS * self.capacity if self._referenced else self.capacity / 4
        ):
            self._settle()
        return kept

    def merged(self, other: ArrayReservoir) -> ArrayReservoir:
        result = ArrayReservoir(self.capacity, self.width)
        mine, theirs = self._read(), other._read()
        result._keep_smallest(
            np.concatenate([mine[0], theirs[0]]), np.concatenate([mine[1], theirs[1]], axis=1)
        )
        return result

    def column(self, index: int) -> FloatArray:
        """The non-missing sampled values of one column, in key order."""
        column: FloatArray = self._read()[1][index]
        present: FloatArray = column[~np.isnan(column)]
        return present

    def _read(self) -> tuple[FloatArray, FloatArray]:
        """Keys and columns of the settled sample in key order (views of the reservoir's own
        arrays)."""
        self._settle()
        size = self._size
        if not self._ordered:
            order = np.argsort(self._keys[:size], kind="stable")
            self._keys[:size] = self._keys[order]
            self._columns[:, :size] = self._columns[:, order]
            self._ordered = True
        return self._keys[:size], self._columns[:, :size]

    def _settle(self) -> None:
        """Keep the ``capacity`` smallest keys of the sample and the pending rows."""
        if not self._pending:
            return
        pending, size = self._pending, self._size
        self._pending, self._held, self._referenced = [], 0, False
        keys = np.concatenate([self._keys[:size], *[k for k, _, _ in pending]])
        if keys.size > self.capacity:
            winners = np.argpartition(keys, self.capacity - 1)[: self.capacity]
            entering = np.sort(winners[winners >= size])
            stays = np.zeros(size, dtype=bool)
            stays[winners[winners < size]] = True
            evicted = np.flatnonzero(~stays)
        else:
            entering, evicted = np.arange(size, keys.size), np.empty(0, dtype=np.int64)
        end = size - evicted.size + entering.size
        if self._keys.size < end:
            self._allocate()
        # The entering rows take the slots of the rows they push out, then the free ones.
        slots = np.concatenate([evicted, np.arange(size, end)])
        self._keys[slots] = keys[entering]
        # Pending entry j holds the keys from ``ends[j - 1]`` to ``ends[j]``: its entering rows
        # are ``entering[bounds[j - 1]:bounds[j]]`` (sorted), gathered with one ``np.take``.
        ends = np.cumsum([size] + [k.size for k, _, _ in pending])
        bounds = np.searchsorted(entering, ends).tolist()
        for j, (_, columns, index) in enumerate(pending):
            first, last = bounds[j], bounds[j + 1]
            if last > first:
                rows = entering[first:last] - ends[j]
                chosen = rows if index is None else index[rows]
                # Into free slots only (a first settle), the slots are a range: a slice is
                # written faster than an index array.
                target = (
                    slice(size + first, size + last) if evicted.size == 0 else slots[first:last]
                )
                self._columns[:, target] = np.take(columns, chosen, axis=1)
        self._size, self._ordered = end, end < 2
        self._threshold = float(self._keys.max()) if end >= self.capacity else np.inf

    def _allocate(self) -> None:
        """The full-size store, keeping the rows already there."""
        keys = np.empty(self.capacity, dtype=np.float64)
        columns = np.empty((self.width, self.capacity), dtype=np.float64)
        keys[: self._size] = self._keys[: self._size]
        columns[:, : self._size] = self._columns[:, : self._size]
        self._keys, self._columns = keys, columns

    def _keep_smallest(
        self, keys: FloatArray, columns: FloatArray, *, ordered: bool = True
    ) -> None:
        """Replace the sample by the ``capacity`` smallest of ``keys`` (with their columns)."""
        if keys.size > self.capacity:
            chosen = np.argpartition(keys, self.capacity - 1)[: self.capacity]
            keys, columns = keys[chosen], columns[:, chosen]
        if ordered:
            order = np.argsort(keys, kind="stable")
            keys, columns = keys[order], columns[:, order]
        self._keys, self._columns, self._ordered = keys, columns, ordered
        self._size = int(keys.size)
        full = keys.size >= self.capacity
        self._threshold = float(keys.max()) if full else np.inf

    def to_dict(self) -> dict[str, Any]:
        keys, columns = self._read()
        return {"keys": encode_float64(keys), "values": encode_float64(columns.T)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], capacity: int, width: int) -> ArrayReservoir:
        reservoir = cls(capacity, width)
        keys = decode_float64(data["keys"])
        values = decode_float64(data["values"]).reshape(keys.size, width)
        reservoir._keep_smallest(keys, values.T.copy())
        return reservoir


class RowReservoir:
    """A bottom-k sample of JSON-able rows (dicts)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.keys: FloatArray = np.empty(0, dtype=np.float64)
        self.rows: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self.rows)

    def threshold(self) -> float:
        """Keys at or above this cannot enter; callers skip building those rows."""
        return float(self.keys.max()) if len(self) >= self.capacity else 1.0

    def offer(self, keys: FloatArray, rows: Sequence[dict[str, Any]]) -> None:
        self._keep_smallest(np.concatenate([self.keys, keys]), [*self.rows, *rows])

    def merged(self, other: RowReservoir) -> RowReservoir:
        result = RowReservoir(self.capacity)
        result._keep_smallest(np.concatenate([self.keys, other.keys]), [*self.rows, *other.rows])
        return result

    def _keep_smallest(self, keys: FloatArray, rows: list[dict[str, Any]]) -> None:
        order = np.argsort(keys, kind="stable")[: self.capacity]
        self.keys = keys[order]
        self.rows = [rows[i] for i in order.tolist()]

    def to_dict(self) -> dict[str, Any]:
        return {"keys": encode_float64(self.keys), "rows": self.rows}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], capacity: int) -> RowReservoir:
        reservoir = cls(capacity)
        reservoir._keep_smallest(decode_float64(data["keys"]), [dict(r) for r in data["rows"]])
        return reservoir


def encode_float64(values: FloatArray) -> str:
    """Exact, compact JSON form of a float array: base64 of little-endian float64."""
    return base64.b64encode(np.ascontiguousarray(values, dtype="<f8").tobytes()).decode("ascii")


def decode_float64(text: str) -> FloatArray:
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    return np.frombuffer(raw, dtype="<f8").astype(np.float64)
