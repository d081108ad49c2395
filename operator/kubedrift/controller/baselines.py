"""Parsed baselines, one copy per distinct JSON text, shared by every monitor that uses it.

The operator reads a monitor's baseline ConfigMap on every round (an edit takes effect on the
next round) but parses a given text once. :class:`BaselineCache` keys the parsed
:class:`~kubedrift.stats.baseline.Baseline` by the SHA-256 of its JSON text, so monitors that
share a ConfigMap, or ConfigMaps with equal content (an adopted copy, the same baseline in
several namespaces), share one parsed copy; an edited ConfigMap is a new key, and the old entry
ages out. Keying by content, not by ConfigMap, also means the text itself is not kept.

The cache is bounded: a parsed baseline costs about 32 KB per numeric feature (its reference
sample of up to 1 000 values), so remembering every baseline ever seen would grow without limit
as monitors come and go. At most ``capacity`` baselines are kept, the least recently used
dropped first. With more distinct baselines in use than that, some are parsed again on their
monitor's next round (a few milliseconds each), which trades CPU for a fixed memory ceiling.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from kubedrift.stats.baseline import Baseline

#: Distinct baselines kept parsed (at 20 numeric features, about 40 MB at most).
DEFAULT_CAPACITY = 64


def text_digest(text: str) -> str:
    """SHA-256 of a baseline's JSON text, as written to ``status.baseline.hash``."""
    return hashlib.sha256(text.encode()).hexdigest()


class BaselineCache:
    """Parsed baselines by the digest of their text, least recently used dropped first.

    Use :meth:`parse` wherever a baseline's JSON text has just been read::

        cache = BaselineCache(capacity=2)
        baseline = cache.parse(text)  # parsed once; the same object on the next call
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._entries: OrderedDict[str, Baseline] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and text_digest(text) in self._entries

    def parse(self, text: str) -> Baseline:
        """The baseline ``text`` holds, parsed on first use.

        Raises what :meth:`Baseline.from_json` raises for a broken baseline; nothing is cached
        then, so a fixed ConfigMap is parsed afresh.
        """
        digest = text_digest(text)
        found = self._entries.get(digest)
        if found is not None:
            self._entries.move_to_end(digest)
            return found
        baseline = Baseline.from_json(text)
        self._entries[digest] = baseline
        if len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return baseline
