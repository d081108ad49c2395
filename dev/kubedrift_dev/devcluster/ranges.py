"""Loopback address ranges for one cluster's Pods and Services, reserved machine-wide.

Several clusters can run on one machine at once (a test session next to ``make cluster-up``,
or two test sessions). Each takes range number N, from 1 to 99: Pods get addresses in
``127.0.N.0/24`` and Service ClusterIPs come from ``127.0.(100+N).0/24``, both routable on the
loopback interface. A cluster holds an exclusive lock on ``/run/kubedrift/ranges/N.lock`` while
it lives (the kernel drops it when the process dies), so no two clusters share addresses.
"""

from __future__ import annotations

import fcntl
from dataclasses import dataclass
from pathlib import Path
from typing import IO

DEFAULT_REGISTRY = Path("/run/kubedrift/ranges")
FIRST, LAST = 1, 99


@dataclass(frozen=True)
class AddressRanges:
    """The address ranges of range number ``index``."""

    index: int

    @property
    def pod_cidr(self) -> str:
        return f"127.0.{self.index}.0/24"

    @property
    def service_cidr(self) -> str:
        return f"127.0.{100 + self.index}.0/24"


class RangesUnavailableError(RuntimeError):
    """Every range (or the one asked for) is held by another cluster."""


class RangeReservation:
    """Holds one range for as long as the cluster runs.

    Example::

        reservation = RangeReservation()
        ranges = reservation.reserve()      # the first free one, e.g. 127.0.1.0/24
        ...
        reservation.release()
    """

    def __init__(self, registry: Path = DEFAULT_REGISTRY) -> None:
        self.registry = registry
        self._held: IO[str] | None = None

    def reserve(self, index: int | None = None) -> AddressRanges:
        """Take range ``index``, or the first free one when None."""
        self.registry.mkdir(parents=True, exist_ok=True)
        for candidate in [index] if index is not None else range(FIRST, LAST + 1):
            if not FIRST <= candidate <= LAST:
                raise ValueError(f"range index {candidate} is outside {FIRST}..{LAST}")
            handle = (self.registry / f"{candidate}.lock").open("a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            self.release()
            self._held = handle
            return AddressRanges(candidate)
        wanted = f"range {index}" if index is not None else "every range"
        raise RangesUnavailableError(f"{wanted} is held by another cluster on this machine")

    def release(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None
