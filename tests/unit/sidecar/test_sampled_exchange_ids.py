"""A sampled exchange carries the ids and binary header lengths of its request and its response.

The proxy runs in-process on a real event loop in front of a real (asyncio) server on 127.0.0.1
that answers with its own ``X-Request-ID`` and ``Inference-Header-Content-Length`` headers.
"""

from __future__ import annotations

import asyncio
import random

from kubedrift.sidecar.proxy import ProxyContext
from kubedrift.sidecar.sampling import SampleFields, SampleQueue, Sampler
from kubedrift.sidecar.upstream import UpstreamPool

RESPONSE = (
    b"HTTP/1.1 200 OK\r\nX-Request-ID: from-upstream\r\nInference-Header-Content-Length: 2\r\n"
    b"Content-Length: 4\r\n\r\n{}xy"
)


async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    await reader.readexactly(2)
    writer.write(RESPONSE)
    await writer.drain()
    writer.close()


async def proxied(request: bytes) -> tuple[bytes, list[SampleFields]]:
    loop = asyncio.get_running_loop()
    model = await asyncio.start_server(upstream, "127.0.0.1", 0)
    queue: SampleQueue[SampleFields] = SampleQueue(10)
    pool = UpstreamPool("127.0.0.1", model.sockets[0].getsockname()[1])
    context = ProxyContext(
        loop, pool, Sampler(1.0, rng=random.Random(0)), queue, upstream_label="model"
    )
    proxy = await loop.create_server(context.protocol_factory(), "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(*proxy.sockets[0].getsockname()[:2])
    writer.write(request)
    response = await reader.readuntil(b"{}xy")
    writer.close()
    proxy.close()
    model.close()
    pool.close()
    return response, queue.take(10)


def test_ids_from_the_request_headers_and_lengths_from_both_sides_reach_the_sample() -> None:
    request = (
        b"POST /v2/models/m/infer HTTP/1.1\r\nCe-Id: ce-1\r\n"
        b"Inference-Header-Content-Length: 1\r\nContent-Length: 2\r\n\r\n{}"
    )

    response, samples = asyncio.run(proxied(request))

    assert response == RESPONSE
    assert samples == [
        ("/v2/models/m/infer", 200, b"{}", b"{}xy", "ce-1", "from-upstream", None, "1", "2", False)
    ]
