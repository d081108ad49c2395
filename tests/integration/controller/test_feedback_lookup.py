"""The feedback endpoint's lookup of a monitor's token and sidecars, against the real API server:
four reads per monitor and time-to-live, however many label calls come in, together or one by
one; then a fresh lookup."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from kubedrift.controller.client import KubeClient
from kubedrift.controller.feedback import MonitorLookup, Target
from support.controller_harness import Kube, model_deployment, model_monitor

TTL = 60.0
MONITOR_READS = [
    ("GET", "modelmonitors"),
    ("GET", "secrets"),
    ("GET", "deployments"),
    ("GET", "pods"),
]


class Clock:
    """A clock the test moves by hand (the lookup's time-to-live is the subject)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monitored(kube: Kube, modelmonitor_crd: str) -> str:
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model", replicas=0))
    kube.create_monitor(model_monitor("watch", "model"))
    token = base64.b64encode(b"s3cret").decode()
    kube.core.create_namespaced_secret(
        kube.namespace,
        {"metadata": {"name": "watch-kubedrift-token"}, "data": {"sidecar-token": token}},
    )
    return kube.namespace


def looked_up(cluster: Any, steps: Any) -> list[tuple[str, str]]:
    """Run ``steps(lookup, clock)`` and answer the API requests the lookup made."""
    requests: list[tuple[str, str]] = []

    async def run() -> None:
        client = KubeClient.from_environment(str(cluster.kubeconfig))
        client.on_request = lambda method, resource: requests.append((method, resource))
        clock = Clock()
        try:
            await steps(MonitorLookup(client, ttl=TTL, clock=clock), clock)
        finally:
            await client.close()

    asyncio.run(run())
    return requests


def test_concurrent_and_repeated_calls_share_one_lookup(cluster: Any, monitored: str) -> None:
    answers: list[Target | None] = []

    async def steps(lookup: MonitorLookup, clock: Clock) -> None:
        answers.extend(
            await asyncio.gather(*(lookup.target(monitored, "watch") for _ in range(20)))
        )
        for _ in range(20):
            clock.now += 1
            answers.append(await lookup.target(monitored, "watch"))

    requests = looked_up(cluster, steps)

    assert requests == MONITOR_READS
    assert answers == [Target("s3cret", [])] * 40


def test_a_lookup_older_than_its_time_to_live_is_done_again(cluster: Any, monitored: str) -> None:
    async def steps(lookup: MonitorLookup, clock: Clock) -> None:
        await lookup.target(monitored, "watch")
        clock.now += TTL
        await lookup.target(monitored, "watch")
        await lookup.target(monitored, "watch")

    assert looked_up(cluster, steps) == MONITOR_READS * 2


def test_an_unknown_monitor_is_remembered_as_unknown(cluster: Any, monitored: str) -> None:
    answers: list[Target | None] = []

    async def steps(lookup: MonitorLookup, clock: Clock) -> None:
        for _ in range(5):
            answers.append(await lookup.target(monitored, "nobody"))
        answers.append(
            await MonitorLookup(lookup.client, ("elsewhere",)).target(monitored, "watch")
        )

    assert looked_up(cluster, steps) == [("GET", "modelmonitors")]
    assert answers == [None] * 6
