"""Open-loop constant-rate HTTP/1.1 load generator (run in its own process by the sidecar bench).

Requests are scheduled at fixed times ``t0 + i / rate`` whatever the server does; latency is
measured from the scheduled time, so a stalled server is charged for the requests it delayed (no
coordinated omission). Connections are kept alive and opened on demand. Every response's status
and body are compared byte for byte with the expected ones. Prints one JSON line:
``{"requests", "mismatches", "errors", "p50", "p90", "p99", "max", "seconds"}`` (latencies in
seconds).

    python bench/sidecar_loadgen.py --port 9000 --path /v2/models/m/infer --rate 1000 \
        --duration 10 --body-file req.json --expect-file resp.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import deque
from pathlib import Path

import httptools


class Connection(asyncio.Protocol):
    """One keep-alive connection; sends a request, reports the response to the generator."""

    def __init__(self, generator: Generator) -> None:
        self.generator = generator
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.scheduled = 0.0
        self.body = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.generator.lost(self)

    def send(self, request: bytes, scheduled: float) -> None:
        self.scheduled = scheduled
        self.body.clear()
        assert self.transport is not None
        self.transport.write(request)

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        self.generator.done(self, status, bytes(self.body))


class Generator:
    def __init__(self, port: int, request: bytes, expected: bytes) -> None:
        self.port = port
        self.request = request
        self.expected = expected
        self.idle: list[Connection] = []
        self.backlog: deque[float] = deque()
        self.latencies: list[float] = []
        self.mismatches = 0
        self.errors = 0
        self.opening = 0

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self.opening += 1
        try:
            _, connection = await loop.create_connection(
                lambda: Connection(self), "127.0.0.1", self.port
            )
        except OSError:
            self.errors += 1
            return
        finally:
            self.opening -= 1
        self.release(connection)

    def release(self, connection: Connection) -> None:
        if self.backlog:
            connection.send(self.request, self.backlog.popleft())
        else:
            self.idle.append(connection)

    def fire(self, scheduled: float) -> None:
        if self.idle:
            self.idle.pop().send(self.request, scheduled)
        else:
            self.backlog.append(scheduled)
            if self.opening < 4:
                asyncio.get_running_loop().create_task(self.open())

    def done(self, connection: Connection, status: int, body: bytes) -> None:
        self.latencies.append(time.perf_counter() - connection.scheduled)
        if status != 200 or body != self.expected:
            self.mismatches += 1
        self.release(connection)

    def lost(self, connection: Connection) -> None:
        if connection in self.idle:
            self.idle.remove(connection)

    async def run(self, rate: float, duration: float, connections: int) -> None:
        await asyncio.gather(*(self.open() for _ in range(connections)))
        total = int(rate * duration)
        start = time.perf_counter() + 0.05
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0.0005:
                await asyncio.sleep(delay)
            self.fire(scheduled)
        deadline = time.perf_counter() + 10
        while len(self.latencies) < total - self.errors and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/v2/models/m/infer")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--body-file", type=Path, required=True)
    parser.add_argument("--expect-file", type=Path, required=True)
    args = parser.parse_args()
    body = args.body_file.read_bytes()
    request = (
        f"POST {args.path} HTTP/1.1\r\nHost: model\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    generator = Generator(args.port, request, args.expect_file.read_bytes())
    started = time.perf_counter()
    try:
        import uvloop  # noqa: PLC0415 - the generator is faster with it, it works without

        uvloop.run(generator.run(args.rate, args.duration, args.connections))
    except ImportError:
        asyncio.run(generator.run(args.rate, args.duration, args.connections))
    latencies = generator.latencies
    print(json.dumps({
        "requests": len(latencies), "mismatches": generator.mismatches, "errors": generator.errors,
        "p50": percentile(latencies, 0.50), "p90": percentile(latencies, 0.90),
        "p99": percentile(latencies, 0.99), "max": max(latencies, default=float("nan")),
        "seconds": time.perf_counter() - started,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
