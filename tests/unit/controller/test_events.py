"""Events are posted on transitions only."""

from __future__ import annotations

from typing import Any

import pytest

from kubedrift.controller.events import Event, transition_events


def cond(type_: str, status: str, reason: str = "R", message: str = "m") -> Any:
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": "2027-01-01T00:00:00Z"}  # fmt: skip


DRIFTED = {"driftDetected": "True"}


@pytest.mark.parametrize(
    ("before", "after", "last_known", "expected"),
    [
        (None, "True", None, [Event("Warning", "DriftDetected", "m")]),
        ("False", "True", None, [Event("Warning", "DriftDetected", "m")]),
        ("Unknown", "True", None, [Event("Warning", "DriftDetected", "m")]),
        # A new alarm after a stretch of Unknown needed new evidence: posted again.
        ("Unknown", "True", DRIFTED, [Event("Warning", "DriftDetected", "m")]),
        ("True", "True", None, []),
        ("True", "Unknown", None, []),
        ("True", "False", None, [Event("Normal", "DriftResolved", "m")]),
        (None, "False", None, []),
        # After a rollout the windows are fresh: True -> Unknown -> False is the usual recovery,
        # announced only when the last known status was an alarm.
        ("Unknown", "False", DRIFTED, [Event("Normal", "DriftResolved", "m")]),
        ("Unknown", "False", {"driftDetected": "False"}, []),
        ("Unknown", "False", {"performanceDegraded": "True"}, []),  # another condition's
        ("Unknown", "False", {}, []),
        ("Unknown", "False", None, []),
    ],
)
def test_drift_events_only_on_transitions(
    before: str | None, after: str, last_known: dict[str, str] | None, expected: list[Event]
) -> None:
    old = [] if before is None else [cond("DriftDetected", before)]

    assert transition_events(old, [cond("DriftDetected", after)], last_known) == expected


def test_performance_recovery_after_a_stretch_of_unknown_is_announced() -> None:
    events = transition_events(
        [cond("PerformanceDegraded", "Unknown")],
        [cond("PerformanceDegraded", "False")],
        {"performanceDegraded": "True"},
    )

    assert events == [Event("Normal", "PerformanceRecovered", "m")]


def test_performance_recovery_is_announced() -> None:
    events = transition_events(
        [cond("PerformanceDegraded", "True")], [cond("PerformanceDegraded", "False")]
    )

    assert events == [Event("Normal", "PerformanceRecovered", "m")]


def test_ready_false_is_a_warning_with_its_reason_and_recovery_is_normal() -> None:
    broken = [cond("Ready", "False", "BaselineNotFound", "no baseline")]

    assert transition_events([], broken) == [Event("Warning", "BaselineNotFound", "no baseline")]
    assert transition_events(broken, broken) == []
    invalid = [cond("Ready", "False", "BaselineInvalid", "not JSON")]
    assert transition_events(broken, invalid) == [Event("Warning", "BaselineInvalid", "not JSON")]
    assert transition_events(broken, [cond("Ready", "True", "Monitoring", "ok")]) == [
        Event("Normal", "Ready", "ok")
    ]
