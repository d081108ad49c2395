"""Kubernetes Events for a monitor: one per transition, never one per evaluation (pure).

:func:`transition_events` compares the conditions before and after a status change and returns
the Events to post. A condition that stays ``True`` for a hundred evaluations yields one Event,
when it became ``True``. ``Unknown`` (too little data, e.g. fresh windows after a rollout)
posts nothing; ``Unknown -> True`` is a new alarm, since it needed new evidence, and
``Unknown -> False`` is a recovery when the condition's last known status (``status.lastKnown``)
was ``True``: the usual way a retrained model's rollout ends an alarm. Retraining
Events (``RetrainingStarted``, ``RetrainingSucceeded``, ``RetrainingFailed``) and
``SidecarInjected`` are posted where those actions happen, transitions by construction.
``Ready=False`` posts its reason when it starts and whenever the reason changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from kubedrift.api.conditions import find_condition
from kubedrift.api.status import Condition
from kubedrift.controller.evaluated_status import ALARMS, condition_status

EventType = Literal["Normal", "Warning"]
#: The Event reason that announces each alarm condition's recovery.
RESOLVED = {
    "DriftDetected": "DriftResolved",
    "PerformanceDegraded": "PerformanceRecovered",
    "DataQualityDegraded": "DataQualityRecovered",
}


@dataclass(frozen=True)
class Event:
    type: EventType
    reason: str
    message: str


def transition_events(
    before: Sequence[Condition],
    after: Sequence[Condition],
    last_known: Mapping[str, str] | None = None,
) -> list[Event]:
    """Events for the conditions that changed between ``before`` and ``after``; ``last_known``
    is the ``status.lastKnown`` that went with ``before``."""
    events: list[Event] = []
    for condition in after:
        kind = condition["type"]
        old = condition_status(before, kind)
        new = condition["status"]
        message = condition["message"]
        if kind == "Ready":
            # A new cause of unreadiness (BaselineNotFound -> BaselineInvalid) is news too.
            if new == "False" and (old != "False" or _reason(before, kind) != condition["reason"]):
                events.append(Event("Warning", condition["reason"], message))
            elif new == "True" and old == "False":
                events.append(Event("Normal", "Ready", message))
        elif kind in ALARMS:
            was_true = last_known is not None and last_known.get(ALARMS[kind]) == "True"
            if new == "True" and old != "True":
                events.append(Event("Warning", kind, message))
            elif new == "False" and (old == "True" or (old == "Unknown" and was_true)):
                resolved = RESOLVED[kind]
                events.append(Event("Normal", resolved, message))
    return events


def _reason(conditions: Sequence[Condition], type_: str) -> str | None:
    found = find_condition(conditions, type_)
    return None if found is None else found["reason"]
