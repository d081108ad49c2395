"""Events are posted on transitions only."""

from __future__ import annotations

from typing import Any

import pytest

from kubedrift.controller.events import Event, transition_events


def cond(type_: str, status: str, reason: str = "R", message: str = "m") -> Any:
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": "2027-01-01T00:00:00Z"}  # fmt: skip


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, "True", [Event("Warning", "DriftDetected", "m")]),
        ("False", "True", [Event("Warning", "DriftDetected", "m")]),
        ("Unknown", "True", [Event("Warning", "DriftDetected", "m")]),
        ("True", "True", []),
        ("True", "Unknown", []),
        ("True", "False", [Event("Normal", "DriftResolved", "m")]),
        ("Unknown", "False", []),
        (None, "False", []),
    ],
)
def test_drift_events_only_on_transitions(
    before: str | None, after: str, expected: list[Event]
) -> None:
    old = [] if before is None else [cond("DriftDetected", before)]

    assert transition_events(old, [cond("DriftDetected", after)]) == expected


@pytest.mark.parametrize(
    ("last_known", "expected"),
    [
        ({"driftDetected": "True"}, [Event("Normal", "DriftResolved", "m")]),
        ({"driftDetected": "False"}, []),
        ({"performanceDegraded": "True"}, []),  # another condition's alarm
        ({}, []),
        (None, []),
    ],
)
def test_recovery_after_a_stretch_of_unknown_is_announced_only_after_an_alarm(
    last_known: dict[str, str] | None, expected: list[Event]
) -> None:
    # After a rollout the windows are fresh: True -> Unknown -> False is the usual recovery.
    events = transition_events(
        [cond("DriftDetected", "Unknown")], [cond("DriftDetected", "False")], last_known
    )

    assert events == expected


def test_an_alarm_after_a_stretch_of_unknown_is_posted_again() -> None:
    events = transition_events(
        [cond("DriftDetected", "Unknown")],
        [cond("DriftDetected", "True")],
        {"driftDetected": "True"},
    )

    assert events == [Event("Warning", "DriftDetected", "m")]


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
