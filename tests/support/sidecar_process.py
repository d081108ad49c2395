"""Run ``kubedrift sidecar`` as a real process and talk raw HTTP/1.1 to it.

:func:`raw_exchange` sends bytes and returns exactly the bytes of one response (delimited with
httptools), so tests can compare a response through the sidecar with the direct one byte for byte.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httptools
from prometheus_client.parser import text_string_to_metric_families


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _ResponseEnd:
    def __init__(self) -> None:
        self.done = False

    def on_message_complete(self) -> None:
        self.done = True


def read_response(sock: socket.socket, *, head: bool = False) -> bytes:
    """The raw bytes of one response from ``sock`` (``head``: it answers a HEAD request).

    Only for one request in flight at a time: bytes of a following response in the same read
    would be returned too (pipelined requests use :func:`read_responses`)."""
    end = _ResponseEnd()
    parser = httptools.HttpResponseParser(end)
    received = bytearray()
    while not end.done:
        data = sock.recv(65536)
        if not data:
            break
        received += data
        if head and b"\r\n\r\n" in received:
            break
        parser.feed_data(data)
    return bytes(received)


class _Responses:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.statuses: list[int] = []
        self.parser = httptools.HttpResponseParser(self)

    def on_message_begin(self) -> None:
        self.bodies.append(b"")

    def on_body(self, body: bytes) -> None:
        self.bodies[-1] += body

    def on_message_complete(self) -> None:
        self.statuses.append(self.parser.get_status_code())


def read_responses(sock: socket.socket, count: int) -> list[tuple[int, bytes]]:
    """Status and body of the next ``count`` responses (pipelined answers may share a read)."""
    responses = _Responses()
    while len(responses.statuses) < count:
        data = sock.recv(65536)
        if not data:
            break
        responses.parser.feed_data(data)
    return list(zip(responses.statuses, responses.bodies, strict=False))


def raw_exchange(port: int, request: bytes, *, head: bool = False, timeout: float = 30.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        return read_response(sock, head=head)


def http_request(
    method: str, path: str, body: bytes = b"", headers: Sequence[tuple[str, str]] = ()
) -> bytes:
    """A minimal HTTP/1.1 request with Content-Length."""
    lines = [f"{method} {path} HTTP/1.1", "Host: model.test", *(f"{n}: {v}" for n, v in headers)]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def split_response(raw: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(line.split(": ", 1)) for line in lines[1:]]
    return int(lines[0].split(" ")[1]), headers, body  # type: ignore[return-value]


@dataclass
class Sidecar:
    """A running sidecar process; ``port`` is the listen port, ``admin`` the admin port."""

    process: subprocess.Popen[bytes]
    port: int
    admin: int
    token: str | None = None

    def get(self, path: str, *, token: str | None = None) -> tuple[int, bytes]:
        return self._call(urllib.request.Request(f"http://127.0.0.1:{self.admin}{path}"), token)

    def post(
        self,
        path: str,
        document: Any,
        *,
        port: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port or self.admin}{path}",
            data=body,
            method="POST",
            headers=headers or {},
        )
        return self._call(request, self.token)

    def _call(self, request: urllib.request.Request, token: str | None) -> tuple[int, bytes]:
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return int(response.status), response.read()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read()

    def json(self, path: str) -> Any:
        status, body = self.get(path, token=self.token)
        assert status == 200, body
        return json.loads(body)

    def wait_for_samples(self, rows: int, timeout: float = 20.0) -> None:
        """Wait until the worker has put ``rows`` rows into the window (it runs in batches)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.json("/v1/window")["current"]["samples"] >= rows:
                return
            time.sleep(0.05)
        raise AssertionError(f"the window did not reach {rows} rows")

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every exposed sample, keyed by name and sorted label pairs (prometheus text parser)."""
        status, body = self.get("/metrics")
        assert status == 200
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): float(sample.value)
            for family in text_string_to_metric_families(body.decode())
            for sample in family.samples
        }

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        return self.metrics()[(name, tuple(sorted((labels or {}).items())))]

    def wait_metric(self, name: str, value: float, timeout: float = 20.0) -> None:
        """Wait until ``name`` (no labels) reaches ``value``: request-path counters come from the
        proxy process in snapshots, sent with every batch of samples and at least once a second."""
        deadline = time.monotonic() + timeout
        while self.metrics().get((name, ()), 0.0) < value:
            assert time.monotonic() < deadline, f"{name} did not reach {value}"
            time.sleep(0.05)

    def processed(self) -> float:
        """Samples the worker has finished with: parsed plus unparsable."""
        names = ("kubedrift_exchanges_parsed_total", "kubedrift_unparsable_total")
        return sum(value for (name, _), value in self.metrics().items() if name in names)

    def wait_processed(self, count: float | None = None, timeout: float = 20.0) -> None:
        """Wait until the worker processed ``count`` samples (default: all sampled so far)."""
        deadline = time.monotonic() + timeout
        target = self.metric("kubedrift_samples_total") if count is None else count
        while self.processed() < target:
            assert time.monotonic() < deadline, "the worker did not catch up"
            time.sleep(0.05)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def start_sidecar(
    upstream_port: int,
    baseline: Path,
    *args: str,
    env: dict[str, str] | None = None,
    token: str | None = None,
    log: Path | None = None,
) -> Sidecar:
    """Start ``python -m kubedrift sidecar`` and wait until ``/healthz`` answers and (proxy mode)
    the listen port accepts connections. ``log``: a file for its output instead of the test's."""
    port, admin = free_port(), free_port()
    command = [
        sys.executable, "-m", "kubedrift", "sidecar", "--listen", f"127.0.0.1:{port}",
        "--admin", f"127.0.0.1:{admin}", "--upstream", f"http://127.0.0.1:{upstream_port}",
        "--baseline", str(baseline), *args,
    ]  # fmt: skip
    sink = log.open("ab") if log is not None else None
    process = subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=sink, stderr=sink)
    if sink is not None:
        sink.close()
    sidecar = Sidecar(process, port, admin, token)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the sidecar exited with {process.returncode}")
        try:
            if sidecar.get("/healthz")[0] == 200:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                return sidecar
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("the sidecar did not start")
