"""set_condition: lastTransitionTime moves only when a condition's status flips."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone

import pytest

from kubedrift.api.conditions import find_condition, set_condition, timestamp
from kubedrift.api.status import Condition, ConditionStatus, Timestamp

T0 = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5, microseconds=900_000)
STATUSES: tuple[ConditionStatus, ...] = ("True", "False", "Unknown")


def condition(type_: str, status: ConditionStatus, at: str = "2026-11-22T10:00:00Z") -> Condition:
    return Condition(
        type=type_,
        status=status,
        reason="Before",
        message="before",
        lastTransitionTime=Timestamp(at),
        observedGeneration=1,
    )


@pytest.mark.parametrize("new", STATUSES)
@pytest.mark.parametrize("old", STATUSES)
def test_transition_time_kept_iff_status_unchanged(
    old: ConditionStatus, new: ConditionStatus
) -> None:
    before = [condition("DriftDetected", old)]

    after = set_condition(before, "DriftDetected", new, "After", "after", 2, T1)

    expected_time = "2026-11-22T10:00:00Z" if old == new else "2026-11-22T10:05:00Z"
    assert after == [
        Condition(
            type="DriftDetected",
            status=new,
            reason="After",
            message="after",
            lastTransitionTime=Timestamp(expected_time),
            observedGeneration=2,
        )
    ]


@pytest.mark.parametrize("new", STATUSES)
def test_new_type_is_appended_with_now(new: ConditionStatus) -> None:
    before = [condition("Ready", "True")]

    after = set_condition(before, "Retraining", new, "JobStarted", "job x", 3, T1)

    assert [c["type"] for c in after] == ["Ready", "Retraining"]
    assert after[0] == before[0]
    assert after[1]["lastTransitionTime"] == "2026-11-22T10:05:00Z"
    assert after[1]["observedGeneration"] == 3


def test_order_and_other_conditions_are_kept() -> None:
    before = [
        condition("Ready", "True"),
        condition("DriftDetected", "False"),
        condition("X", "True"),
    ]

    after = set_condition(before, "DriftDetected", "True", "Drift", "2 of 3", 1, T1)

    assert [c["type"] for c in after] == ["Ready", "DriftDetected", "X"]
    assert after[0] == before[0] and after[2] == before[2]


def test_input_is_not_modified_and_output_shares_no_dicts() -> None:
    before = [condition("Ready", "True"), condition("DriftDetected", "False")]
    snapshot = copy.deepcopy(before)

    after = set_condition(before, "DriftDetected", "True", "Drift", "m", 1, T1)
    after[0]["message"] = "changed"

    assert before == snapshot


def test_empty_list_gets_the_condition() -> None:
    assert set_condition([], "Ready", "Unknown", "Pending", "waiting", 0, T0) == [
        Condition(
            type="Ready",
            status="Unknown",
            reason="Pending",
            message="waiting",
            lastTransitionTime=Timestamp("2026-11-22T10:00:00Z"),
            observedGeneration=0,
        )
    ]


def test_duplicate_types_collapse_into_one() -> None:
    before = [condition("Ready", "True"), condition("Ready", "False")]

    after = set_condition(before, "Ready", "True", "Ok", "m", 1, T1)

    assert len(after) == 1
    assert after[0]["lastTransitionTime"] == "2026-11-22T10:00:00Z"


def test_condition_without_transition_time_gets_now_even_if_status_is_unchanged() -> None:
    old = condition("Ready", "True")
    del old["lastTransitionTime"]  # type: ignore[misc]

    after = set_condition([old], "Ready", "True", "Ok", "m", 1, T1)

    assert after[0]["lastTransitionTime"] == "2026-11-22T10:05:00Z"


def test_timestamp_converts_to_utc_and_drops_fractions() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert timestamp(datetime(2026, 11, 22, 12, 0, 1, 999_999, tzinfo=plus_two)) == (
        "2026-11-22T10:00:01Z"
    )


def test_timestamp_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        timestamp(datetime(2026, 11, 22))


def test_find_condition_returns_the_type_or_none() -> None:
    conditions = [condition("Ready", "True")]
    assert find_condition(conditions, "Ready") == conditions[0]
    assert find_condition(conditions, "Retraining") is None
