"""Fault injection for the operator's reliability tests: off unless explicitly enabled, never
for production.

The reliability suite (``tests/integration/reliability/``) proves that the operator converges
when the API server answers one of its read-modify-write updates with 409 Conflict. To get a
real 409 from the real API server on purpose, start the operator with::

    KUBEDRIFT_TEST_FAULTS="stale_first_write=inject+takeover+status" kubedrift operator ...

Keys (comma-separated ``key=value``):

- ``stale_first_write=W+W...``: right before the first conditional write of each named write
  path, the operator changes the same object itself with a blind patch (annotation
  ``test.kubedrift.io/stale-write``), so the ``resourceVersion`` it read is stale and the API
  server refuses the write with 409. Write paths: ``inject`` (the sidecar into the Deployment),
  ``takeover`` (the Service's ports to the sidecar), ``status`` (the monitor's status),
  ``remove`` and ``restore`` (their undoing on deletion).

An unknown key or write path is an error at start-up (a typo must not silently test nothing);
the operator logs a warning when faults are enabled.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from kubedrift.controller.conflicts import WRITES

logger = logging.getLogger(__name__)
ENV = "KUBEDRIFT_TEST_FAULTS"
#: The annotation the injected concurrent write sets on the object.
STALE_WRITE_ANNOTATION = "test.kubedrift.io/stale-write"


class StaleWrites:
    """Which write paths still get their one stale ``resourceVersion`` (see module docstring)."""

    def __init__(self, writes: frozenset[str] = frozenset()) -> None:
        self._pending = set(writes)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> StaleWrites:
        """The faults ``environ`` asks for; ``ValueError`` on unknown keys or write paths."""
        writes: set[str] = set()
        for item in filter(None, (part.strip() for part in environ.get(ENV, "").split(","))):
            key, _, value = item.partition("=")
            names = set(value.split("+"))
            if key != "stale_first_write" or not value or not names <= set(WRITES):
                raise ValueError(f"{ENV}: unknown fault or bad value {item!r}")
            writes |= names
        if writes:
            logger.warning(
                "%s: the first write of %s uses a stale resourceVersion (fault injection for "
                "tests)",
                ENV,
                "+".join(sorted(writes)),
            )
        return cls(frozenset(writes))

    def take(self, write: str) -> bool:
        """Whether this write of ``write`` is to be made stale (true once per write path)."""
        if write in self._pending:
            self._pending.remove(write)
            return True
        return False
