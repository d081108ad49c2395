"""Cumulative counters of one sidecar since it started, and the increments between two reads.

A window rotates and forgets; a :class:`Tally` never does. Each sidecar adds every window it closes
to a running tally and reports ``tally + current window`` (``GET /v1/window``, key
``cumulative``), the way a Prometheus counter only grows. The operator keeps the tally it read
last from each Pod and feeds the engine the difference: what arrived since its previous step. A
different ``epoch`` (the sidecar process's start time) or a counter that went down means the
sidecar restarted; its whole tally is then new data. Increments of several Pods add up.

Keys of ``to_dict`` (all counts since ``epoch``):

- ``epoch``: start time of the sidecar process, seconds; identifies one series of counters;
- ``samples``: rows seen; ``labeled``: labels joined; ``errors``: labeled misclassifications;
- ``unknown_rows``: rows that carried a column the baseline does not know;
- ``columns``: per baseline column (the prediction last) its bin ``counts``, ``missing`` and
  ``out_of_range`` counts, in the baseline's order (``name`` repeats the column's name);
- ``estimation`` (only when the baseline has calibration maps): the sums of
  ``stats.estimation.EstimationSketch`` since ``epoch`` (expected confusion, its variance, score
  histograms), for performance estimated without labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kubedrift.stats.baseline import FeatureProfile
from kubedrift.stats.binning import IntArray
from kubedrift.stats.estimation import CalibrationMap, EstimationSketch
from kubedrift.stats.window import Window


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts since ``epoch`` over the columns ``names``; ``counts`` is padded like a window's."""

    epoch: float
    names: tuple[str, ...]
    samples: int
    labeled: int
    errors: int
    unknown_rows: int
    counts: IntArray
    missing: IntArray
    out_of_range: IntArray
    #: Sums for performance estimated without labels; ``None`` without calibration maps.
    estimation: EstimationSketch | None = None

    @classmethod
    def empty(cls, profiles: Sequence[FeatureProfile], epoch: float = 0.0) -> Tally:
        widest = max((len(p.counts) for p in profiles), default=1)
        size = len(profiles)
        return cls(
            epoch,
            tuple(p.name for p in profiles),
            0,
            0,
            0,
            0,
            np.zeros((size, widest), dtype=np.int64),
            np.zeros(size, dtype=np.int64),
            np.zeros(size, dtype=np.int64),
        )

    @classmethod
    def of_window(cls, window: Window, epoch: float = 0.0) -> Tally:
        """The counts one window holds."""
        confusion = window.labels.confusion
        errors = (
            int(confusion.sum() - np.trace(confusion)) if window.labels.is_classification else 0
        )
        return cls(
            epoch,
            tuple(p.name for p in window.profiles),
            window.samples,
            window.labeled,
            errors,
            window.unknown_rows,
            window.counts.copy(),
            window.missing.copy(),
            window.out_of_range.copy(),
            None if window.estimation is None else window.estimation.copy(),
        )

    def __add__(self, other: Tally) -> Tally:
        self._check(other)
        return Tally(
            max(self.epoch, other.epoch),
            self.names,
            self.samples + other.samples,
            self.labeled + other.labeled,
            self.errors + other.errors,
            self.unknown_rows + other.unknown_rows,
            self.counts + other.counts,
            self.missing + other.missing,
            self.out_of_range + other.out_of_range,
            _added(self.estimation, other.estimation),
        )

    def since(self, previous: Tally | None) -> Tally:
        """What arrived after ``previous`` (an earlier read of the same sidecar): the
        difference, or the whole tally when ``previous`` is ``None`` or the sidecar restarted
        in between (another ``epoch``, or a counter that went down)."""
        if previous is None or previous.epoch != self.epoch or previous.names != self.names:
            return self
        difference = Tally(
            self.epoch,
            self.names,
            self.samples - previous.samples,
            self.labeled - previous.labeled,
            self.errors - previous.errors,
            self.unknown_rows - previous.unknown_rows,
            self.counts - previous.counts,
            self.missing - previous.missing,
            self.out_of_range - previous.out_of_range,
            (
                self.estimation - previous.estimation
                if self.estimation is not None and previous.estimation is not None
                else self.estimation
            ),
        )
        if difference.negative():
            return self
        return difference

    def negative(self) -> bool:
        scalars = (self.samples, self.labeled, self.errors, self.unknown_rows)
        return (
            min(scalars) < 0
            or bool((self.counts < 0).any())
            or bool((self.missing < 0).any())
            or bool((self.out_of_range < 0).any())
            or (self.estimation is not None and self.estimation.negative())
        )

    def _check(self, other: Tally) -> None:
        if other.names != self.names:
            raise ValueError("cannot add tallies over different columns")

    def to_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "samples": self.samples,
            "labeled": self.labeled,
            "errors": self.errors,
            "unknown_rows": self.unknown_rows,
            "columns": [
                {
                    "name": name,
                    "counts": self.counts[i].tolist(),
                    "missing": int(self.missing[i]),
                    "out_of_range": int(self.out_of_range[i]),
                }
                for i, name in enumerate(self.names)
            ],
        } | ({"estimation": self.estimation.to_dict()} if self.estimation is not None else {})

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        profiles: Sequence[FeatureProfile],
        calibration: CalibrationMap | None = None,
    ) -> Tally:
        """Read :meth:`to_dict` output; ``ValueError`` when it does not fit ``profiles`` (or
        its estimation sums do not fit ``calibration``)."""
        tally = cls.empty(profiles, float(data["epoch"]))
        columns = data["columns"]
        if [c["name"] for c in columns] != list(tally.names):
            raise ValueError("tally columns do not match the baseline")
        for i, column in enumerate(columns):
            counts = np.asarray(column["counts"], dtype=np.int64)
            if counts.ndim != 1 or counts.size > tally.counts.shape[1]:
                raise ValueError(f"column {column['name']!r}: wrong number of bins")
            tally.counts[i, : counts.size] = counts
            tally.missing[i] = int(column["missing"])
            tally.out_of_range[i] = int(column["out_of_range"])
        return cls(
            tally.epoch,
            tally.names,
            int(data["samples"]),
            int(data["labeled"]),
            int(data["errors"]),
            int(data.get("unknown_rows", 0)),
            tally.counts,
            tally.missing,
            tally.out_of_range,
            (
                EstimationSketch.from_dict(data["estimation"], calibration)
                if calibration is not None and data.get("estimation") is not None
                else None
            ),
        )


def _added(
    first: EstimationSketch | None, second: EstimationSketch | None
) -> EstimationSketch | None:
    if first is None:
        return second
    if second is None:
        return first
    return first + second
