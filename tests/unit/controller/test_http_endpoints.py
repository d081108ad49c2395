"""The operator's HTTP side on real loopback servers: dataset endpoint, health, webhook posts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry

from kubedrift.controller.dataset import DatasetRegistry, merge_labeled
from kubedrift.controller.operator_metrics import make_metrics
from kubedrift.controller.server import operator_app
from kubedrift.controller.webhook import build_payload, deliver


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


def test_dataset_needs_the_monitors_token() -> None:
    async def scenario() -> None:
        datasets = DatasetRegistry()

        async def fetch() -> dict[str, Any]:
            return {"count": 1, "rows": [{"features": {"x": 1.0}, "prediction": 1, "label": 0}]}

        datasets.register("ml", "fraud", "s3cret", fetch)
        registry = CollectorRegistry()
        make_metrics(registry)
        runner, url = await serve(operator_app(registry, datasets, lambda: None))
        try:
            async with aiohttp.ClientSession() as session:
                path = f"{url}/v1/datasets/ml/fraud"
                async with session.get(path) as anonymous:
                    assert anonymous.status == 401
                async with session.get(path, headers={"Authorization": "Bearer nope"}) as wrong:
                    assert wrong.status == 401
                async with session.get(path, headers={"Authorization": "Bearer s3cret"}) as ok:
                    assert ok.status == 200
                    assert (await ok.json())["count"] == 1
                async with session.get(f"{url}/v1/datasets/ml/other") as unknown:
                    assert unknown.status == 404
                async with session.get(f"{url}/healthz") as health:
                    assert health.status == 200
                async with session.get(f"{url}/metrics") as metrics:
                    assert "kubedrift_operator_evaluations_total" in await metrics.text()
        finally:
            await runner.cleanup()

    run(scenario)


def test_healthz_fails_naming_the_problem() -> None:
    async def scenario() -> None:
        runner, url = await serve(
            operator_app(CollectorRegistry(), DatasetRegistry(), lambda: "operator stopped")
        )
        try:
            async with aiohttp.ClientSession() as session, session.get(f"{url}/healthz") as r:
                assert (r.status, await r.text()) == (503, "operator stopped\n")
        finally:
            await runner.cleanup()

    run(scenario)


def test_labeled_rows_of_answering_sidecars_are_concatenated() -> None:
    rows, reporting = merge_labeled(
        [{"rows": [{"label": 1}, {"label": 0}]}, None, {"error": "x"}, {"rows": [{"label": 1}]}]
    )

    assert rows == [{"label": 1}, {"label": 0}, {"label": 1}]
    assert reporting == 2


def test_webhook_retries_server_errors_and_sends_the_token() -> None:
    async def scenario() -> None:
        answers = [500, 503, 200]
        received: list[tuple[str | None, Any]] = []

        async def hook(request: web.Request) -> web.Response:
            received.append((request.headers.get("Authorization"), await request.json()))
            return web.Response(status=answers[len(received) - 1])

        app = web.Application()
        app.router.add_post("/hook", hook)
        runner, url = await serve(app)
        payload = build_payload(
            "ml", "fraud", previous="Healthy", current="Drifting", reason="DriftDetected",
            message="1 of 1 features drifted", now=1_800_000_000.0, status={"phase": "Drifting"},
        )  # fmt: skip
        try:
            async with aiohttp.ClientSession() as session:
                delivered = await deliver(
                    session, f"{url}/hook", payload, timeout=2, token="t", backoff=0.01
                )
        finally:
            await runner.cleanup()
        assert delivered is True
        assert len(received) == 3
        assert received[0] == ("Bearer t", payload)
        assert payload["time"] == "2027-01-15T08:00:00Z"
        assert (payload["from"], payload["to"]) == ("Healthy", "Drifting")

    run(scenario)


def test_webhook_gives_up_on_a_client_error_and_on_an_unreachable_receiver() -> None:
    async def scenario() -> None:
        calls = 0

        async def hook(_: web.Request) -> web.Response:
            nonlocal calls
            calls += 1
            return web.Response(status=400)

        app = web.Application()
        app.router.add_post("/hook", hook)
        runner, url = await serve(app)
        try:
            async with aiohttp.ClientSession() as session:
                assert not await deliver(session, f"{url}/hook", {}, timeout=2, backoff=0.01)
                await runner.cleanup()
                assert not await deliver(session, f"{url}/hook", {}, timeout=2, backoff=0.01)
        finally:
            await runner.cleanup()
        assert calls == 1

    run(scenario)
