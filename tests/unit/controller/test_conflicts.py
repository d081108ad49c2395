"""Optimistic concurrency of the operator's read-modify-write updates: the resourceVersion
precondition in a patch, and the bounded retry from a fresh read after 409 Conflict."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from kubedrift.controller.conflicts import (
    WRITES,
    ConflictError,
    SupersededError,
    retry_conflicts,
    with_resource_version,
)
from kubedrift.controller.operator_metrics import make_metrics


def test_resource_version_joins_the_patch_metadata_without_changing_the_plan() -> None:
    plan = {"metadata": {"annotations": {"a": "1"}}, "spec": {"replicas": 2}}

    stamped = with_resource_version(plan, "41")

    assert stamped == {
        "metadata": {"annotations": {"a": "1"}, "resourceVersion": "41"},
        "spec": {"replicas": 2},
    }
    assert plan == {"metadata": {"annotations": {"a": "1"}}, "spec": {"replicas": 2}}


def test_resource_version_is_added_to_a_patch_without_metadata() -> None:
    assert with_resource_version({"status": {"phase": "NoData"}}, "7") == {
        "status": {"phase": "NoData"},
        "metadata": {"resourceVersion": "7"},
    }


def run_attempts(outcomes: list[Exception | None], attempts: int = 3) -> tuple[list[int], int]:
    """Run ``retry_conflicts`` over attempts that raise the given errors in turn (None: done);
    returns the attempt numbers made and the conflicts counted."""
    made: list[int] = []
    conflicts = [0]

    async def attempt(number: int) -> int:
        made.append(number)
        outcome = outcomes[number]
        if outcome is not None:
            raise outcome
        return number

    def count() -> None:
        conflicts[0] += 1

    asyncio.run(retry_conflicts(attempt, on_conflict=count, attempts=attempts))
    return made, conflicts[0]


def test_a_conflict_is_retried_from_a_fresh_attempt_and_counted() -> None:
    made, conflicts = run_attempts([ConflictError("inject", "stale"), None])

    assert made == [0, 1]
    assert conflicts == 1


def test_conflicts_are_retried_a_bounded_number_of_times_then_raised() -> None:
    with pytest.raises(ConflictError, match="inject: stale 2"):
        run_attempts([ConflictError("inject", f"stale {n}") for n in range(3)])


def test_a_superseded_base_is_counted_but_left_to_the_next_round() -> None:
    made: list[int] = []

    async def attempt(number: int) -> None:
        made.append(number)
        raise SupersededError("status", "the status changed")

    with pytest.raises(SupersededError):
        asyncio.run(retry_conflicts(attempt, on_conflict=lambda: None))
    assert made == [0]


def test_other_errors_are_not_retried() -> None:
    with pytest.raises(RuntimeError):
        run_attempts([RuntimeError("boom"), None])


def test_conflicts_metric_has_one_series_per_write_path_from_the_start() -> None:
    registry = CollectorRegistry()
    metrics = make_metrics(registry)

    metrics.record_conflict("takeover")

    counted = {
        write: registry.get_sample_value("kubedrift_operator_api_conflicts_total", {"write": write})
        for write in WRITES
    }
    assert counted == {"inject": 0, "takeover": 1, "status": 0, "remove": 0, "restore": 0}
