"""Predictions waiting for their ground truth: a bounded store keyed by request id, with a TTL.

The worker :meth:`~LabelStore.put` s every parsed sampled exchange under all its ids (the body id,
the header id, the generated id); ``POST /v1/feedback`` :meth:`~LabelStore.join` s labels to them.
An entry references the rows inside the arrays of the batch it came in (``columns`` and
``offset``) instead of holding its own copy: a few objects per entry, so a full store neither
costs much memory (8 bytes per feature and row) nor slows Python's garbage collector down.
A joined entry stays (marked) until it expires so that a second label for the same id is reported
as a duplicate, not as unknown. When the store is full the oldest entry goes first; an id evicted
that way is "unknown" afterwards, an id past its TTL but still stored is "expired".
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubedrift.payloads import Value
from kubedrift.wire import Outcome


@dataclass(slots=True)
class Pending:
    """One exchange: rows ``offset .. offset + len(predictions)`` of ``columns``."""

    columns: Mapping[str, Any]
    offset: int
    predictions: Sequence[Value]
    expires: float
    joined: bool = False

    def rows(self) -> dict[str, Sequence[Any]]:
        end = self.offset + len(self.predictions)
        return {name: values[self.offset : end] for name, values in self.columns.items()}


@dataclass
class Joined:
    """What a label joined to: the stored rows and predictions, with the labels, row-aligned."""

    rows: Mapping[str, Sequence[Any]]
    predictions: Sequence[Value]
    labels: list[Value] = field(default_factory=list)


class LabelStore:
    """Bounded ``id -> Pending`` map; see the module docstring.

    >>> store = LabelStore(capacity=10, ttl=60.0)
    >>> store.put(("req-1",), {"x": [1.0]}, [0], now=0.0)
    >>> store.join("req-1", 1, now=5.0)[0], store.join("req-1", 1, now=6.0)[0]
    ('joined', 'duplicate')
    """

    def __init__(self, capacity: int, ttl: float) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self._entries: OrderedDict[str, Pending] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def put(
        self,
        ids: Sequence[str],
        columns: Mapping[str, Any],
        predictions: Sequence[Value],
        now: float,
        offset: int = 0,
    ) -> None:
        """Store one exchange (rows ``offset ..`` of ``columns``) under each of ``ids``."""
        entry = Pending(columns, offset, predictions, now + self.ttl)
        for key in ids:
            self._entries.pop(key, None)
            self._entries[key] = entry
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def knows(self, request_id: str) -> bool:
        """Whether an exchange is stored under ``request_id`` (expired or not)."""
        return request_id in self._entries

    def join(
        self, request_id: str, label: Value | list[Value], now: float
    ) -> tuple[Outcome, Joined | None]:
        """Attach ``label`` (one per row: a list for batch requests) to the stored prediction."""
        entry = self._entries.get(request_id)
        if entry is None:
            return "unknown", None
        if now > entry.expires:
            return "expired", None
        if entry.joined:
            return "duplicate", None
        labels = label if isinstance(label, list) else [label]
        if len(labels) != len(entry.predictions):
            return "invalid", None
        entry.joined = True
        return "joined", Joined(entry.rows(), entry.predictions, labels)

    def purge(self, now: float) -> int:
        """Drop entries expired for longer than one more TTL (kept that long to report
        "expired" rather than "unknown"); returns how many went. Entries are in insertion order
        and share one TTL, so only the stale head of the store is visited."""
        cutoff = now - self.ttl
        removed = 0
        entries = self._entries
        while entries:
            entry = next(iter(entries.values()))
            if entry.expires >= cutoff:
                break
            entries.popitem(last=False)
            removed += 1
        return removed
