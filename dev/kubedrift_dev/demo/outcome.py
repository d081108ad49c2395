"""What a run of the demo's loop produced: one :class:`Point` per step of traffic (and the
evaluation that judged it), :class:`Marker` s for alerts, retraining starts and rollouts, the
table :class:`Row` s, and the :class:`Outcome` that gathers them and answers the accuracy before
and after a rollout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Point:
    """One step and the evaluation that judged it."""

    step: int
    world: str
    samples: int  # rows sent since the start, this step included
    seconds: float
    accuracy: float  # measured by the traffic generator on this step
    operator_accuracy: float | None
    drift_share: float | None
    drift: str  # DriftDetected condition status
    degraded: str  # PerformanceDegraded condition status
    phase: str
    version: str


@dataclass(frozen=True)
class Marker:
    kind: str  # alert | retraining | rollout
    samples: int
    seconds: float
    text: str


@dataclass(frozen=True)
class Row:
    """One line of the live table."""

    step: str
    action: str
    data: str
    distribution: str
    accuracy: str
    next: str


@dataclass
class Outcome:
    points: list[Point] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    #: world -> rows sent before its first step, and seconds since the start at that moment
    shifts: dict[str, int] = field(default_factory=dict)
    shift_seconds: dict[str, float] = field(default_factory=dict)
    #: world -> condition -> rows of that world sent when the condition was first seen True
    detections: dict[str, dict[str, int]] = field(default_factory=dict)
    #: job name -> (rows sent when it started, model version it produced or None)
    jobs: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    final_status: dict[str, Any] = field(default_factory=dict)

    def accuracy(self, world: str, *, after_rollout: bool | None = None) -> float:
        """Accuracy over the steps of ``world`` (every step has the same number of rows);
        ``after_rollout`` selects the steps served by a model retrained during this world (True)
        or the ones before that rollout (False)."""
        start = self.shifts[world]
        rollouts = [m.samples for m in self.markers if m.kind == "rollout" and m.samples >= start]
        cut = rollouts[0] if rollouts else None
        chosen = []
        for point in self.points:
            after = cut is not None and point.samples > cut
            if point.world == world and after_rollout in (None, after):
                chosen.append(point.accuracy)
        return sum(chosen) / len(chosen) if chosen else float("nan")
