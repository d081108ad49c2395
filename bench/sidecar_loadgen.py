"""Open-loop constant-rate HTTP/1.1 load generator (run in its own process by the sidecar bench).

Requests are scheduled at fixed times ``t0 + i / rate`` whatever the server does; latency is
measured from the scheduled time, so a stalled server is charged for the requests it delayed (no
coordinated omission). Connections are kept alive; a request whose time has come while every
connection is busy waits in a backlog (its latency still counts from its scheduled time). Every
response's status and body are compared byte for byte with the expected ones. Prints one JSON
line: ``{"requests", "mismatches", "errors", "p50", "p90", "p99", "max", "seconds"}`` (latencies
in seconds).

How it waits decides what it measures. ``--wait spin`` polls the sockets without blocking and
reads the clock in a loop: requests leave within a few microseconds of their scheduled time and
responses are seen within a few microseconds of their arrival. It takes a whole core, so use it
only when the generator has a CPU of its own (the bench pins it). ``--wait sleep`` blocks in
``epoll_wait``, whose millisecond timeout makes requests leave up to a millisecond late, in
bursts; that lateness is counted as latency, so it suits only comparisons far above a millisecond.

    python bench/sidecar_loadgen.py --port 9000 --path /v2/models/m/infer --rate 1000 \
        --duration 10 --body-file req.json --expect-file resp.json --wait spin
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import time
from collections import deque
from pathlib import Path

import httptools


class Connection:
    """One keep-alive connection with at most one request in flight."""

    __slots__ = ("body", "generator", "parser", "scheduled", "sock")

    def __init__(self, generator: Generator, port: int) -> None:
        self.generator = generator
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.parser = httptools.HttpResponseParser(self)
        self.scheduled = 0.0
        self.body = bytearray()

    def send(self, request: bytes, scheduled: float) -> None:
        self.scheduled = scheduled
        self.body.clear()
        sent = self.sock.send(request)
        if sent < len(request):  # a full socket buffer: finish the write blocking (rare)
            self.sock.setblocking(True)
            self.sock.sendall(request[sent:])
            self.sock.setblocking(False)

    def readable(self) -> None:
        data = self.sock.recv(1 << 16)
        if not data:
            self.generator.lost(self)
            return
        self.parser.feed_data(data)

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.generator.done(self, self.parser.get_status_code(), bytes(self.body))


class Generator:
    def __init__(self, port: int, request: bytes, expected: bytes, connections: int) -> None:
        self.request = request
        self.expected = expected
        self.connections = {
            connection.sock.fileno(): connection
            for connection in (Connection(self, port) for _ in range(connections))
        }
        self.idle = list(self.connections.values())
        self.backlog: deque[float] = deque()
        self.latencies: list[float] = []
        self.mismatches = 0
        self.errors = 0

    def fire(self, scheduled: float) -> None:
        if self.idle:
            self.idle.pop().send(self.request, scheduled)
        else:
            self.backlog.append(scheduled)

    def done(self, connection: Connection, status: int, body: bytes) -> None:
        self.latencies.append(time.perf_counter() - connection.scheduled)
        if status != 200 or body != self.expected:
            self.mismatches += 1
        if self.backlog:
            connection.send(self.request, self.backlog.popleft())
        else:
            self.idle.append(connection)

    def lost(self, connection: Connection) -> None:
        """The server closed a connection: its request in flight is an error."""
        self.errors += 1
        del self.connections[connection.sock.fileno()]
        connection.sock.close()
        if connection in self.idle:
            self.idle.remove(connection)

    def run(self, rate: float, duration: float, spin: bool) -> None:
        poller = select.epoll()
        for fd in self.connections:
            poller.register(fd, select.EPOLLIN)
        total = int(rate * duration)
        clock = time.perf_counter
        start = clock() + 0.05
        deadline = start + duration + 10.0
        sent = 0
        while len(self.latencies) + self.errors < total and self.connections:
            now = clock()
            if now > deadline:
                break
            while sent < total and start + sent / rate <= now:
                self.fire(start + sent / rate)
                sent += 1
            if spin:
                timeout = 0.0
            elif sent < total:
                timeout = max(0.0, start + sent / rate - clock())
            else:
                timeout = 0.01
            for fd, _ in poller.poll(timeout):
                connection = self.connections.get(fd)
                if connection is not None:
                    connection.readable()
        poller.close()


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
    parser.add_argument("--wait", choices=("spin", "sleep"), default="sleep")
    args = parser.parse_args()
    body = args.body_file.read_bytes()
    request = (
        f"POST {args.path} HTTP/1.1\r\nHost: model\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    started = time.perf_counter()
    generator = Generator(args.port, request, args.expect_file.read_bytes(), args.connections)
    generator.run(args.rate, args.duration, spin=args.wait == "spin")
    latencies = generator.latencies
    print(json.dumps({
        "requests": len(latencies), "mismatches": generator.mismatches, "errors": generator.errors,
        "p50": percentile(latencies, 0.50), "p90": percentile(latencies, 0.90),
        "p99": percentile(latencies, 0.99), "max": max(latencies, default=float("nan")),
        "seconds": time.perf_counter() - started,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
