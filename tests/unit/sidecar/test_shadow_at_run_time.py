"""A shadow trial starts and ends at run time: ``PUT /v1/shadow`` on a running sidecar points its
proxy process's copies at the shadow (or at nothing), with no restart; the operator calls it,
so the serving Pods never roll for a shadow trial.

Real processes: a sidecar (proxy and monitor processes) in front of a real model server, and a
second model server as the shadow.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from kubedrift.sidecar.ipc import SendChannel
from kubedrift.sidecar.proxy import ProxyContext
from kubedrift.sidecar.proxy_service import Forwarder
from kubedrift.sidecar.sampling import SampleFields, SampleQueue, Sampler
from kubedrift.sidecar.upstream import UpstreamPool
from support.sidecar_model_server import ModelServer, running_model_server
from support.sidecar_process import Sidecar, start_sidecar

TOKEN = "shadow-token"
DEADLINE = 30.0


def put_shadow(sidecar: Sidecar, document: Any, token: str = TOKEN) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{sidecar.admin}/v1/shadow",
        data=json.dumps(document).encode(),
        method="PUT",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), json.load(response)
    except urllib.error.HTTPError as error:
        return int(error.code), json.load(error)


@pytest.fixture
def running(model: ModelServer, baseline_file: Path, tmp_path: Path) -> Any:
    config = tmp_path / "sidecar.yaml"
    config.write_text("sampleRate: 1.0\nmaxSamplesPerSecond: null\nbatchInterval: 20ms\n")
    sidecar = start_sidecar(
        model.port, baseline_file, "--config", str(config), env={"KUBEDRIFT_SIDECAR_TOKEN": TOKEN},
        token=TOKEN,
    )  # fmt: skip
    yield sidecar
    sidecar.stop()


def test_a_shadow_set_at_run_time_gets_copies_and_the_sidecar_keeps_running(
    running: Sidecar,
) -> None:
    with running_model_server() as shadow:
        url = f"http://127.0.0.1:{shadow.port}"

        assert put_shadow(running, {"url": url}) == (200, {"url": url})
        deadline = time.monotonic() + DEADLINE
        while not shadow.received:  # the target reaches the proxy process over its channel
            assert time.monotonic() < deadline, "no copy reached the shadow"
            status, _ = running.post("/v1/models/m:predict", {"instances": [[1.0, 2.0, 3.0]]},
                                     port=running.port)  # fmt: skip
            assert status == 200
            time.sleep(0.05)

        assert put_shadow(running, {"url": None}) == (200, {"url": None})
        assert running.process.poll() is None  # the same process, never restarted


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ({"url": "ftp://10.0.0.7:9000"}, "must be http://host"),
        ({"url": "http://10.0.0.7:9000/v2"}, "no path"),
        ({"url": 9000}, "string or null"),
        ({}, '{"url": "http://host:port"}'),
    ],
)
def test_a_wrong_shadow_target_is_refused_saying_why(
    running: Sidecar, document: Any, complaint: str
) -> None:
    status, answer = put_shadow(running, document)

    assert status == 400
    assert complaint in answer["error"]


def test_the_shadow_path_needs_the_token(running: Sidecar) -> None:
    assert put_shadow(running, {"url": None}, token="wrong")[0] == 401


def test_the_proxy_starts_stops_and_moves_its_mirror_on_the_monitors_message() -> None:
    async def run() -> list[Any]:
        loop = asyncio.get_running_loop()
        queue: SampleQueue[SampleFields] = SampleQueue(10)
        context = ProxyContext(
            loop, UpstreamPool("127.0.0.1", 9), Sampler(1.0, rng=random.Random(0)), queue,
            upstream_label="model",
        )  # fmt: skip
        forwarder = Forwarder(context, SendChannel(), 10, 1.0, (4, 2.0))
        seen: list[Any] = [context.shadow]
        for target in (("10.0.0.7", 9000), None, ("10.0.0.8", 9001)):
            forwarder.answer(("shadow", target))
            mirror = context.shadow
            assert mirror is not None
            seen.append((mirror.host, mirror.port, mirror.max_in_flight, mirror.timeout))
        return seen

    assert asyncio.run(run()) == [
        None,
        ("10.0.0.7", 9000, 4, 2.0),
        (None, 9000, 4, 2.0),  # no target: mirror() sends nothing
        ("10.0.0.8", 9001, 4, 2.0),
    ]
