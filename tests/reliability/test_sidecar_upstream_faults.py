"""A real sidecar in front of a model that is slow, broken or gone, and clients that misbehave:
the sidecar answers clearly (502/504) within its timeouts, never hangs, keeps serving other clients
while slow ones hold connections, and drains requests in flight at SIGTERM.

Timeouts here are short (upstream 3 s, keep-alive 2 s) so that the run is short; the sockets of
the test have their own generous timeouts, which only turn a hang into a failure.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from support.sidecar_model_server import ModelServer
from support.sidecar_process import (
    Sidecar,
    http_request,
    raw_exchange,
    split_response,
    start_sidecar,
)
from support.sidecar_traffic import request_mix

pytestmark = pytest.mark.chaos

TIMEOUTS = "timeouts:\n  connect: 2s\n  upstream: 3s\n  keepAlive: 2s\n  drain: 20s\n"
SLOW_CLIENTS = 300
HANG_GUARD = 60.0


def start(upstream_port: int, baseline: Path) -> Sidecar:
    config = baseline.parent / "timeouts.yaml"
    config.write_text(TIMEOUTS)
    return start_sidecar(upstream_port, baseline, "--config", str(config))


@pytest.fixture
def sidecar(model: ModelServer, baseline_file: Path) -> Iterator[Sidecar]:
    process = start(model.port, baseline_file)
    yield process
    process.stop()


class BrokenUpstream:
    """A TCP server that reads a request and then misbehaves: ``close`` (no answer at all) or
    ``partial`` (half a response head, then a reset)."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                if self.behaviour == "partial":
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf")
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")

    def close(self) -> None:
        self.listener.close()


def test_upstream_slower_than_the_timeout_gives_504_not_a_hang(sidecar: Sidecar) -> None:
    request = http_request("POST", "/slow", b"{}", [("X-Delay", "6"), ("X-Request-ID", "s")])

    status, headers, body = split_response(raw_exchange(sidecar.port, request, timeout=HANG_GUARD))

    assert status == 504
    assert ("X-Kubedrift-Error", "504") in headers
    assert b"did not answer in time" in body


def test_upstream_closing_without_an_answer_gives_502(baseline_file: Path) -> None:
    upstream = BrokenUpstream("close")
    sidecar = start(upstream.port, baseline_file)
    try:
        raw = raw_exchange(sidecar.port, http_request("POST", "/v2/models/m/infer", b"{}"),
                           timeout=HANG_GUARD)  # fmt: skip
    finally:
        sidecar.stop()
        upstream.close()

    status, headers, _ = split_response(raw)
    assert status == 502
    assert ("X-Kubedrift-Error", "502") in headers


def test_upstream_dying_mid_response_resets_the_client_instead_of_hanging(
    baseline_file: Path,
) -> None:
    upstream = BrokenUpstream("partial")
    sidecar = start(upstream.port, baseline_file)
    try:
        with socket.create_connection(("127.0.0.1", sidecar.port), timeout=HANG_GUARD) as client:
            client.sendall(http_request("POST", "/v2/models/m/infer", b"{}"))
            received = b""
            try:
                while chunk := client.recv(65536):
                    received += chunk
            except ConnectionResetError:
                pass
        counted = wait_for_metric(sidecar, "kubedrift_proxy_errors_total", "upstream_broken")
    finally:
        sidecar.stop()
        upstream.close()

    assert received.startswith(b"HTTP/1.1 200 OK")
    assert len(split_response(received)[2]) < 100  # the client sees a short, broken response
    assert counted


def wait_for_metric(sidecar: Sidecar, name: str, kind: str) -> bool:
    """Whether the counter reaches 1 (request-path counters arrive within about a second)."""
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        if sidecar.metric(name, {"kind": kind}) >= 1:
            return True
        time.sleep(0.1)
    return False


def slowloris(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that send an incomplete request head."""
    sockets = []
    for i in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD)
        sock.sendall(b"POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nX-Slow-%d: " % i)
        sockets.append(sock)
    return sockets


def closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_slow_clients_cannot_exhaust_the_sidecar_and_are_cut_off(
    sidecar: Sidecar, model: ModelServer
) -> None:
    slow = slowloris(sidecar.port, SLOW_CLIENTS)
    slow_body = socket.create_connection(("127.0.0.1", sidecar.port), timeout=HANG_GUARD)
    slow_body.sendall(http_request("POST", "/echo", b"x" * 100)[:-60])  # head done, body not
    try:
        for sock in slow[::10]:  # keep trickling bytes while the others are served
            sock.sendall(b"a")
        requests = request_mix(seed=42, count=300)
        answers = [(raw_exchange(sidecar.port, r), raw_exchange(model.port, r)) for r in requests]
        # The slow connections are closed by the keep-alive sweep (head incomplete after 2 s),
        # the slow body gets the 504 of the upstream timeout (the model waits for the body).
        cut_off = [closed_by_peer(sock) for sock in slow]
        slow_body_answer = split_response(raw_exchange_rest(slow_body))[0]
    finally:
        for sock in [*slow, slow_body]:
            sock.close()

    assert all(proxied == direct for proxied, direct in answers)
    assert all(cut_off)
    assert slow_body_answer == 504


def raw_exchange_rest(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_sigterm_drains_every_request_in_flight(model: ModelServer, baseline_file: Path) -> None:
    sidecar = start(model.port, baseline_file)
    bodies = [b"in-flight-%d" % i for i in range(20)]

    def slow_call(body: bytes) -> bytes:
        headers = [("X-Delay", "2"), ("X-Request-ID", body.decode())]
        return raw_exchange(sidecar.port, http_request("POST", "/slow", body, headers),
                            timeout=HANG_GUARD)  # fmt: skip

    already = len(model.received)
    with ThreadPoolExecutor(len(bodies)) as pool:
        calls = [pool.submit(slow_call, body) for body in bodies]
        deadline = time.monotonic() + HANG_GUARD
        while len(model.received) - already < len(bodies):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        sidecar.process.send_signal(signal.SIGTERM)
        answers = [split_response(call.result()) for call in calls]
    exit_code = sidecar.process.wait(timeout=HANG_GUARD)

    assert [(status, body) for status, _, body in answers] == [(200, b) for b in bodies]
    assert all(("Connection", "close") in headers for _, headers, _ in answers)
    assert exit_code == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", sidecar.port), timeout=5)
