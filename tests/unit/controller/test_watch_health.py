"""kopf's long-running tasks as the operator's ``/healthz`` hears of them: a watcher kopf gave up
on (or that ended) is a problem that names it; one cancelled (a stop, a CRD removed) is not.

The tasks run under kopf's own guard, so a change in what kopf logs shows up here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest
from kopf._cogs.aiokits import aiotasks

from kubedrift.controller.watch_health import KOPF_TASKS_LOGGER, KopfTaskFailures

WATCHER = "watcher for modelmonitors.v1alpha1.kubedrift.io@ml"


@pytest.fixture
def failures() -> Iterator[KopfTaskFailures]:
    listening = KopfTaskFailures().attach()
    yield listening
    listening.detach()


def guarded(coroutine: Coroutine[Any, Any, Any], name: str = WATCHER) -> None:
    """Run ``coroutine`` as kopf runs its watchers (a guarded, cancellable task)."""

    async def main() -> None:
        task = aiotasks.create_guarded_task(
            coroutine, name, logger=logging.getLogger(KOPF_TASKS_LOGGER), cancellable=True
        )
        await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


async def forbidden() -> None:
    raise RuntimeError("modelmonitors.kubedrift.io is forbidden")


async def ends() -> None:
    pass


async def watches() -> None:
    await asyncio.Event().wait()


def test_a_watcher_kopf_gave_up_on_is_a_problem_naming_it(failures: KopfTaskFailures) -> None:
    guarded(forbidden())

    assert failures.problem() == f"kopf stopped: {WATCHER} (see the operator log)"


def test_a_failure_stops_the_operator_once() -> None:
    stops: list[None] = []
    failures = KopfTaskFailures(on_failure=lambda: stops.append(None)).attach()
    try:
        guarded(forbidden())
        guarded(watches())
    finally:
        failures.detach()

    assert stops == [None]


def test_a_watcher_that_ended_is_a_problem(failures: KopfTaskFailures) -> None:
    guarded(ends())

    assert failures.failed == [WATCHER]


def test_a_watcher_cancelled_is_no_problem(failures: KopfTaskFailures) -> None:
    guarded(watches())

    assert failures.problem() is None


def test_once_detached_nothing_is_heard() -> None:
    failures = KopfTaskFailures().attach()
    failures.detach()

    guarded(forbidden())

    assert failures.problem() is None
