"""The sidecar's current window and the last completed one, rotated by size or age.

The operator pulls both (``GET /v1/window``): the current window shows live traffic, the completed
one is a stable unit to evaluate, and ``cumulative`` holds every count since the sidecar started
(closed windows plus the current one), from which the operator takes what arrived since its last
read (``kubedrift.stats.engine.tally``). Memory stays bounded: a window's size is fixed by the
baseline and the window settings, and at most two exist at a time.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kubedrift.stats.baseline import Baseline
from kubedrift.stats.engine.tally import Tally
from kubedrift.stats.segments import (
    segment_references,
    segment_window_settings,
    split_probabilities,
    split_rows,
)
from kubedrift.stats.settings import WindowSettings
from kubedrift.stats.window import Window
from kubedrift.stats.window_plan import WindowPlan

#: Environment variable with the version of the model this sidecar's Pod serves (set by the
#: operator on a live trial's candidate Pods; optional elsewhere).
MODEL_VERSION_ENV = "KUBEDRIFT_MODEL_VERSION"


@dataclass(frozen=True)
class PodIdentity:
    """Who reports a window: the Pod (from the downward API env vars), this process's start,
    and the model version the Pod serves when the environment says (``KUBEDRIFT_MODEL_VERSION``),
    so the operator can tell which model answered a window's or a labeled row's requests."""

    name: str
    namespace: str | None
    ip: str | None
    started: float
    model_version: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], started: float) -> PodIdentity:
        return cls(
            name=environ.get("POD_NAME") or socket.gethostname(),
            namespace=environ.get("POD_NAMESPACE"),
            ip=environ.get("POD_IP"),
            started=started,
            model_version=environ.get(MODEL_VERSION_ENV) or None,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "ip": self.ip,
            "started": self.started,
        }
        if self.model_version is not None:
            out["modelVersion"] = self.model_version
        return out


class WindowKeeper:
    """Owns the current and the last completed :class:`Window`; call :meth:`rotate` regularly.

    ``seed`` makes the reservoirs reproducible in tests; each new window gets ``seed + n``.
    """

    def __init__(
        self,
        baseline: Baseline,
        settings: WindowSettings,
        *,
        now: float,
        seed: int | None = None,
        epoch: float | None = None,
    ):
        """``epoch`` names this keeper's series of cumulative counters (the process start;
        ``now`` when ``None``), see :meth:`cumulative`."""
        self.baseline = baseline
        self.settings = settings
        self._seed = seed
        # Built once: every window of this keeper shares the baseline's (immutable) layout.
        self._plan = WindowPlan.for_baseline(baseline)
        self.rotations = 0
        self.current = self._new(now)
        self.completed: Window | None = None
        self._epoch = now if epoch is None else epoch
        # Every window closed so far, added up (see cumulative).
        self._closed = Tally.empty(self._plan.profiles, self._epoch)
        #: A keeper per segment the baseline profiles (``stats.segments``): each splits off
        #: its rows and rotates its own windows by the same settings.
        self.segments: dict[str, WindowKeeper] = {
            value: WindowKeeper(
                reference,
                segment_window_settings(settings),
                now=now,
                seed=None if seed is None else seed + 1000 * (index + 1),
                epoch=self._epoch,
            )
            for index, (value, reference) in enumerate(segment_references(baseline).items())
        }

    @property
    def known_names(self) -> frozenset[str]:
        """Column names the baseline knows (features and prediction)."""
        return self._plan.known_names

    def cumulative(self) -> Tally:
        """Counts since this keeper started: the closed windows plus the current one. They only
        grow (like Prometheus counters); the operator takes increments between two reads."""
        return self._closed + Tally.of_window(self.current, self._epoch)

    def _new(self, now: float) -> Window:
        seed = None if self._seed is None else self._seed + self.rotations
        return Window(self.baseline, self.settings, seed=seed, start=now, plan=self._plan)

    def rotate(self, now: float) -> bool:
        """Close the current window when it is full; True when it did."""
        if not self.current.is_full(now):
            return False
        self._closed = self._closed + Tally.of_window(self.current, self._epoch)
        self.completed = self.current
        self.rotations += 1
        self.current = self._new(now)
        return True

    def update(
        self,
        rows: Mapping[str, npt.NDArray[Any]],
        predictions: npt.NDArray[Any] | None,
        now: float,
        *,
        unknown: tuple[int, Sequence[str]] = (0, ()),
        probabilities: npt.ArrayLike = (),
    ) -> None:
        """Add a batch; ``unknown`` is (rows, names) of columns the baseline does not know;
        ``probabilities`` the class probabilities of the rows whose responses carried them."""
        self.rotate(now)
        self.current.update(rows, predictions, now=now)
        self.current.note_unknown(*unknown)
        if np.size(probabilities):
            self.current.add_probabilities(probabilities)
        if self.segments and self.baseline.segments is not None:
            scores = (
                split_probabilities(self.baseline.segments, rows, probabilities)
                if np.size(probabilities)
                else {}
            )
            for value, (part, predicted, _) in split_rows(
                self.baseline.segments, rows, predictions
            ).items():
                self.segments[value].update(
                    part, predicted, now, probabilities=scores.get(value, ())
                )

    def add_labeled(
        self,
        predictions: npt.NDArray[Any],
        labels: npt.NDArray[Any],
        rows: Mapping[str, npt.NDArray[Any]],
        now: float,
    ) -> None:
        self.rotate(now)
        self.current.add_labeled(predictions, labels, rows, now=now)
        if self.segments and self.baseline.segments is not None:
            for value, (part, predicted, joined) in split_rows(
                self.baseline.segments, rows, predictions, labels
            ).items():
                assert predicted is not None and joined is not None
                self.segments[value].add_labeled(predicted, joined, part, now)

    def to_dict(self, pod: PodIdentity, now: float, *, labeled_rows: bool = True) -> dict[str, Any]:
        """``GET /v1/window``: both windows as mergeable sketch JSON, pod and time bounds;
        with segments, ``segments`` holds the same three per segment value. ``labeled_rows``:
        whether the windows carry their labeled-row samples (``?labeledRows=false``)."""
        return {
            "pod": pod.to_dict(),
            "time": now,
            **self.windows(now, labeled_rows=labeled_rows),
        } | (
            {
                "segments": {
                    value: keeper.windows(now, labeled_rows=labeled_rows)
                    for value, keeper in self.segments.items()
                }
            }
            if self.segments
            else {}
        )

    def windows(self, now: float, *, labeled_rows: bool = True) -> dict[str, Any]:
        """``rotations``, ``current``, ``completed`` and ``cumulative`` of this keeper."""
        self.rotate(now)
        completed = self.completed
        return {
            "rotations": self.rotations,
            "current": self.current.to_dict(labeled_rows=labeled_rows),
            "completed": None
            if completed is None
            else completed.to_dict(labeled_rows=labeled_rows),
            "cumulative": self.cumulative().to_dict(),
        }

    def labeled_rows(self) -> list[dict[str, Any]]:
        """Labeled rows of the completed and current windows (each bounded by the settings)."""
        rows = self.completed.labeled_rows() if self.completed is not None else []
        return rows + self.current.labeled_rows()
