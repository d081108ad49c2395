"""The operator's Events on the real API server: a repeat of the same Event about the same monitor
raises that Event's count, as ``kubectl describe`` shows it (``x3 over 2m``); anything else, or
a repeat after the Event is gone, is a new Event."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes import client

from kubedrift.controller.client import KubeClient
from kubedrift.controller.event_recorder import EventRecorder
from kubedrift.controller.events import Event
from kubedrift.controller.names import MonitorRef

T0 = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
TAKEN = Event("Warning", "JobNameTaken", "Job m-retrain-1 exists and belongs to another owner")


def with_recorder(cluster: Any, steps: Callable[[EventRecorder], Awaitable[None]]) -> None:
    async def run() -> None:
        kube = KubeClient.from_environment(str(cluster.kubeconfig))
        try:
            await steps(EventRecorder(kube, "kubedrift-operator"))
        finally:
            await kube.close()

    asyncio.run(run())


def listed(cluster: Any, namespace: str) -> list[tuple[str, str, int, str, str]]:
    core = client.CoreV1Api(cluster.api_client())
    found = core.list_namespaced_event(namespace).items
    return sorted(
        (e.involved_object.name, e.reason, e.count, e.first_timestamp.isoformat(),
         e.last_timestamp.isoformat())
        for e in found
    )  # fmt: skip


def test_a_repeated_event_is_counted_on_one_event(cluster: Any, namespace: str) -> None:
    monitor = MonitorRef(namespace, "m", "uid-1")

    async def steps(recorder: EventRecorder) -> None:
        for minute in range(3):
            await recorder.post(monitor, TAKEN, T0 + timedelta(minutes=minute))

    with_recorder(cluster, steps)

    assert listed(cluster, namespace) == [
        ("m", "JobNameTaken", 3, "2027-03-01T12:00:00+00:00", "2027-03-01T12:02:00+00:00")
    ]


def test_another_message_reason_or_monitor_is_another_event(cluster: Any, namespace: str) -> None:
    first, second = MonitorRef(namespace, "m", "uid-1"), MonitorRef(namespace, "n", "uid-2")
    other_job = Event("Warning", "JobNameTaken", "Job m-retrain-2 exists and belongs to another")

    async def steps(recorder: EventRecorder) -> None:
        for event, monitor in ((TAKEN, first), (other_job, first), (TAKEN, second)):
            await recorder.post(monitor, event, T0)
        await recorder.post(first, Event("Normal", "DriftResolved", TAKEN.message), T0)

    with_recorder(cluster, steps)

    assert [(name, reason, count) for name, reason, count, _, _ in listed(cluster, namespace)] == [
        ("m", "DriftResolved", 1),
        ("m", "JobNameTaken", 1),
        ("m", "JobNameTaken", 1),
        ("n", "JobNameTaken", 1),
    ]


def test_a_repeat_after_the_event_was_deleted_is_a_new_event(cluster: Any, namespace: str) -> None:
    monitor = MonitorRef(namespace, "m", "uid-1")
    core = client.CoreV1Api(cluster.api_client())

    async def steps(recorder: EventRecorder) -> None:
        await recorder.post(monitor, TAKEN, T0)
        await recorder.post(monitor, TAKEN, T0 + timedelta(minutes=1))
        # What the API server does when the Event's TTL (--event-ttl) runs out.
        core.delete_collection_namespaced_event(namespace)
        await recorder.post(monitor, TAKEN, T0 + timedelta(minutes=2))
        await recorder.post(monitor, TAKEN, T0 + timedelta(minutes=3))

    with_recorder(cluster, steps)

    assert listed(cluster, namespace) == [
        ("m", "JobNameTaken", 2, "2027-03-01T12:02:00+00:00", "2027-03-01T12:03:00+00:00")
    ]


def test_the_oldest_keys_are_forgotten_beyond_the_capacity(cluster: Any, namespace: str) -> None:
    monitor = MonitorRef(namespace, "m", "uid-1")
    events = [Event("Warning", "JobNameTaken", f"Job m-retrain-{i} is taken") for i in range(3)]

    async def steps(recorder: EventRecorder) -> None:
        recorder.capacity = 2
        for event in (*events, events[2], events[0]):
            await recorder.post(monitor, event, T0)

    with_recorder(cluster, steps)

    # events[0] was forgotten when events[2] came, so its repeat is a new Event.
    assert sorted(count for _, _, count, _, _ in listed(cluster, namespace)) == [1, 1, 1, 2]
