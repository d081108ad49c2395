"""A shadow gets a copy of each sampled request and never changes the client's response.

The proxy runs in-process on a real event loop in front of a real (asyncio) model server on
127.0.0.1; the shadow is a second real server that answers, answers slowly (it waits until the
client has its whole response), answers 500, resets the connection, or does not listen at all.
In every case the client's bytes are compared with what the same proxy returns with no shadow.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Awaitable, Callable

import pytest
from prometheus_client import CollectorRegistry

from kubedrift.sidecar.config import ConfigError, config_from_mapping
from kubedrift.sidecar.proxy import ProxyContext
from kubedrift.sidecar.proxy_stats import ProxySnapshot
from kubedrift.sidecar.sampling import SampleFields, SampleQueue, Sampler
from kubedrift.sidecar.shadow import ShadowMirror
from kubedrift.sidecar.sidecar_metrics import ProxyCollector
from kubedrift.sidecar.upstream import UpstreamPool

BODY = b'{"instances": [[1.0, 2.0]]}'
REQUEST = (
    b"POST /v1/models/m:predict HTTP/1.1\r\nHost: model\r\nX-Request-ID: req-1\r\n"
    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%b" % (len(BODY), BODY)
)
SERVING_ANSWER = b'{"predictions": [1]}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Model: serving\r\n"
    b"Content-Length: %d\r\n\r\n%b" % (len(SERVING_ANSWER), SERVING_ANSWER)
)
SHADOW_ANSWER = b'{"predictions": [0]}'
DEADLINE = 30.0

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


async def model(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(RESPONSE)
    await writer.drain()
    writer.close()


class Shadow:
    """A shadow server that records what it received and behaves as ``behaviour`` says."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.received: list[tuple[bytes, bytes]] = []
        self.release = asyncio.Event()  # the slow shadow answers once this is set

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.received.append(await read_request(reader))
        if self.behaviour == "slow":
            await self.release.wait()
        if self.behaviour == "reset":
            writer.transport.abort()
            return
        status = b"500 Internal Server Error" if self.behaviour == "error" else b"200 OK"
        writer.write(
            b"HTTP/1.1 %b\r\nContent-Length: %d\r\n\r\n%b"
            % (status, len(SHADOW_ANSWER), SHADOW_ANSWER)
        )
        await writer.drain()
        writer.close()


def free_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(DEADLINE):
        while not condition():
            await asyncio.sleep(0.01)


async def through_proxy(
    shadow: Shadow | None,
    *,
    shadow_port: int | None = None,
    request: bytes = REQUEST,
    sample_rate: float = 1.0,
) -> tuple[bytes, list[SampleFields], ShadowMirror | None]:
    """The client's response bytes, the queued samples and the mirror, once every copy ended."""
    loop = asyncio.get_running_loop()
    server = await asyncio.start_server(model, "127.0.0.1", 0)
    shadow_server = None
    mirror = None
    if shadow is not None:
        shadow_server = await asyncio.start_server(shadow, "127.0.0.1", 0)
        shadow_port = shadow_server.sockets[0].getsockname()[1]
    if shadow_port is not None:
        mirror = ShadowMirror(loop, "127.0.0.1", shadow_port, timeout=DEADLINE)
    queue: SampleQueue[SampleFields] = SampleQueue(10)
    pool = UpstreamPool("127.0.0.1", server.sockets[0].getsockname()[1])
    context = ProxyContext(
        loop,
        pool,
        Sampler(sample_rate, rng=random.Random(0)),
        queue,
        upstream_label="model",
        shadow=mirror,
    )
    proxy = await loop.create_server(context.protocol_factory(), "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(*proxy.sockets[0].getsockname()[:2])
    writer.write(request)
    async with asyncio.timeout(DEADLINE):
        response = await reader.readuntil(SERVING_ANSWER)
    if shadow is not None:
        shadow.release.set()  # a slow shadow answers only after the client has its response
    if mirror is not None:
        await wait_until(lambda: mirror.in_flight == 0)
    writer.close()
    for listening in (proxy, server, shadow_server):
        if listening is not None:
            listening.close()
    pool.close()
    return response, queue.take(10), mirror


@pytest.mark.parametrize("behaviour", ["answers", "slow", "error", "reset"])
def test_a_shadow_never_changes_the_response_byte_for_byte(behaviour: str) -> None:
    async def run() -> tuple[bytes, bytes, Shadow, ShadowMirror | None]:
        alone, _, _ = await through_proxy(None)
        shadow = Shadow(behaviour)
        shadowed, _, mirror = await through_proxy(shadow)
        return alone, shadowed, shadow, mirror

    alone, shadowed, shadow, mirror = asyncio.run(run())

    assert shadowed == alone == RESPONSE
    assert len(shadow.received) == 1
    assert mirror is not None
    expected = "answered" if behaviour in ("answers", "slow") else "failed"
    assert mirror.counts == {"answered": 0, "failed": 0, "dropped": 0, expected: 1}


def test_a_shadow_that_is_down_changes_nothing_and_is_counted_as_failed() -> None:
    async def run() -> tuple[bytes, ShadowMirror | None]:
        response, _, mirror = await through_proxy(None, shadow_port=free_port())
        return response, mirror

    response, mirror = asyncio.run(run())

    assert response == RESPONSE
    assert mirror is not None
    assert mirror.counts == {"answered": 0, "failed": 1, "dropped": 0}


def test_the_shadow_gets_the_same_path_body_and_request_id_as_the_recorded_sample() -> None:
    shadow = Shadow("answers")

    _, samples, _ = asyncio.run(through_proxy(shadow))

    ((head, body),), (sample,) = shadow.received, samples
    assert head.split(b"\r\n")[0] == b"POST /v1/models/m:predict HTTP/1.1"
    assert b"X-Request-ID: req-1\r\n" in head
    assert body == BODY == sample[2]
    assert sample[5] == "req-1"


def test_a_copy_is_marked_and_the_shadow_side_samples_it_always_and_copies_it_no_further() -> None:
    shadow = Shadow("answers")
    asyncio.run(through_proxy(shadow))
    copy = b"".join(shadow.received[0])
    assert b"X-Kubedrift-Shadow: 1\r\n" in copy

    # The copy arriving at the shadow's own sidecar (sampleRate 0, a shadow configured too).
    downstream = Shadow("answers")
    response, samples, mirror = asyncio.run(
        through_proxy(downstream, request=copy, sample_rate=0.0)
    )

    alone, _, _ = asyncio.run(through_proxy(None, request=copy, sample_rate=0.0))
    assert response == alone  # the copy says Connection: close, so does the answer to it
    assert [sample[5] for sample in samples] == ["req-1"]
    assert downstream.received == []
    assert mirror is not None and mirror.counts == {"answered": 0, "failed": 0, "dropped": 0}


def test_a_generated_request_id_is_the_one_the_shadow_gets() -> None:
    shadow = Shadow("answers")
    request = REQUEST.replace(b"X-Request-ID: req-1\r\n", b"")

    response, samples, _ = asyncio.run(through_proxy(shadow, request=request))

    generated = samples[0][6]
    assert generated is not None
    assert b"X-Request-ID: %b\r\n" % generated.encode() in response
    assert b"X-Request-ID: %b\r\n" % generated.encode() in shadow.received[0][0]


def test_copies_beyond_max_in_flight_are_dropped_and_counted() -> None:
    sample: SampleFields = ("/p", 200, b"{}", b"{}", None, "r", None, None, None, False)

    async def run() -> dict[str, int]:
        shadow = Shadow("slow")
        server = await asyncio.start_server(shadow, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        mirror = ShadowMirror(asyncio.get_running_loop(), "127.0.0.1", port, max_in_flight=1)
        mirror.mirror(sample)
        mirror.mirror(sample)
        shadow.release.set()
        await wait_until(lambda: mirror.in_flight == 0)
        server.close()
        return mirror.counts

    assert asyncio.run(run()) == {"answered": 1, "failed": 0, "dropped": 1}


def test_truncated_samples_are_not_mirrored() -> None:
    sample: SampleFields = ("/p", 200, b"", b"", None, "r", None, None, None, True)

    async def run() -> tuple[int, dict[str, int]]:
        mirror = ShadowMirror(asyncio.get_running_loop(), "127.0.0.1", free_port())
        mirror.mirror(sample)
        return mirror.in_flight, mirror.counts

    assert asyncio.run(run()) == (0, {"answered": 0, "failed": 0, "dropped": 0})


def test_the_shadow_section_of_the_config() -> None:
    config = config_from_mapping(
        {"shadow": {"url": "http://m-kubedrift-candidate:8080", "maxInFlight": 4, "timeout": "2s"}}
    )

    assert (config.shadow_url, config.shadow_max_in_flight, config.shadow_timeout) == (
        "http://m-kubedrift-candidate:8080",
        4,
        2.0,
    )
    with pytest.raises(ConfigError, match=r"shadow\.url"):
        config_from_mapping({"shadow": {"url": "https://x"}})
    with pytest.raises(ConfigError, match=r"shadow\.unknown"):
        config_from_mapping({"shadow": {"unknown": 1}})


def test_shadow_outcomes_reach_the_metrics_through_the_snapshot() -> None:
    registry = CollectorRegistry()
    collector = ProxyCollector()
    registry.register(collector)
    collector.attach(lambda: ProxySnapshot(shadow_answered=3, shadow_failed=2, shadow_dropped=1))

    values = {
        outcome: registry.get_sample_value("kubedrift_shadow_requests_total", {"outcome": outcome})
        for outcome in ("answered", "failed", "dropped")
    }

    assert values == {"answered": 3.0, "failed": 2.0, "dropped": 1.0}
