"""A real sidecar process in front of a real model server forwards traffic untouched."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kubedrift.sidecar.sidecar_main import MONITOR_NICENESS
from support.cluster_waiting import wait_for
from support.sidecar_model_server import ModelServer
from support.sidecar_process import (
    Sidecar,
    free_port,
    http_request,
    raw_exchange,
    read_response,
    read_responses,
    split_response,
    start_sidecar,
)

OIP = {
    "id": "oip-1",
    "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [1, 2, 3, -4, 5, 6]}],
}
PANDAS = {
    "parameters": {"content_type": "pd"},
    "inputs": [
        {"name": "x-0", "shape": [1], "datatype": "FP64", "data": [0.5]},
        {"name": "x-1", "shape": [1], "datatype": "FP64", "data": [0.1]},
    ],
}
KSERVE = {"instances": [[1, 2, 3], [-1, 0, 0]]}
SELDON = {"data": {"ndarray": [[1, 2, 3]]}, "meta": {"puid": "p"}}
MLFLOW = {"dataframe_split": {"columns": ["x-0"], "data": [[2.0]]}}
PAYLOADS: list[tuple[str, str, bytes]] = [
    ("oip-v2", "/v2/models/m/infer", json.dumps(OIP).encode()),
    ("oip-v2-pd", "/v2/models/m/infer", json.dumps(PANDAS).encode()),
    ("kserve-v1", "/v1/models/m:predict", json.dumps(KSERVE).encode()),
    ("seldon-v1", "/api/v1.0/predictions", json.dumps(SELDON).encode()),
    ("mlflow", "/invocations", json.dumps(MLFLOW).encode()),
    ("not-json", "/v2/models/m/infer", b"\x00\xffnot json at all"),
    ("unknown-shape", "/v2/models/m/infer", b'{"something": ["else"]}'),
    ("empty", "/v1/models/m:predict", b""),
]  # fmt: skip


@pytest.mark.parametrize(("name", "path", "body"), PAYLOADS, ids=[p[0] for p in PAYLOADS])
def test_response_through_the_sidecar_equals_the_direct_response_byte_for_byte(
    sidecar: Sidecar, model: ModelServer, name: str, path: str, body: bytes
) -> None:
    request = http_request(
        "POST", path, body, [("X-Request-ID", f"id-{name}"), ("Content-Type", "application/json")]
    )

    direct = raw_exchange(model.port, request)
    direct_request = model.received[-1]
    proxied = raw_exchange(sidecar.port, request)
    forwarded = model.received[-1]

    assert proxied == direct
    assert forwarded.body == direct_request.body == body
    assert forwarded.headers == direct_request.headers
    assert forwarded.path == path


def test_generated_request_id_is_returned_and_sent_to_the_model(
    sidecar: Sidecar, model: ModelServer
) -> None:
    body = json.dumps(OIP).encode()

    status, headers, _ = split_response(
        raw_exchange(sidecar.port, http_request("POST", "/v2/models/m/infer", body))
    )

    generated = dict(headers)["X-Request-ID"]
    assert status == 200
    assert ("X-Request-ID", generated) in model.received[-1].headers


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_every_method_and_path_is_forwarded(
    sidecar: Sidecar, model: ModelServer, method: str
) -> None:
    request = http_request(
        method, "/any/path?with=query&x=1", b"payload" if method != "GET" else b""
    )

    assert raw_exchange(sidecar.port, request) == raw_exchange(model.port, request)
    assert model.received[-1].path == "/any/path?with=query&x=1"


def test_head_response_has_no_body_and_the_connection_stays_usable(sidecar: Sidecar) -> None:
    with socket.create_connection(("127.0.0.1", sidecar.port), timeout=10) as sock:
        sock.sendall(http_request("HEAD", "/echo"))
        head = read_response(sock, head=True)
        sock.sendall(http_request("POST", "/echo", b"after head"))
        after = read_response(sock)

    assert split_response(head)[0] == 200
    assert head.endswith(b"\r\n\r\n")
    assert split_response(after)[2] == b"after head"


@pytest.mark.parametrize("status", [404, 500, 503])
def test_upstream_error_statuses_pass_through_unchanged(
    sidecar: Sidecar, model: ModelServer, status: int
) -> None:
    request = http_request(
        "POST", "/echo", b'{"error": "boom"}', [("X-Status", str(status)), ("X-Request-ID", "e")]
    )

    proxied = raw_exchange(sidecar.port, request)

    assert proxied == raw_exchange(model.port, request)
    assert split_response(proxied)[0] == status


def test_large_bodies_are_streamed_both_ways_intact(sidecar: Sidecar, model: ModelServer) -> None:
    body = bytes(range(256)) * (12 * 4096)  # 12 MiB, larger than the per-sample copy limit

    status, _, echoed = split_response(
        raw_exchange(sidecar.port, http_request("POST", "/echo", body))
    )

    assert status == 200
    assert echoed == body
    assert model.received[-1].body == body


def test_chunked_request_reaches_the_model_and_chunked_response_is_rechunked(
    sidecar: Sidecar, model: ModelServer
) -> None:
    body = b"0123456789" * 500
    chunks = b"".join(
        b"%x\r\n%b\r\n" % (len(body[i : i + 700]), body[i : i + 700])
        for i in range(0, len(body), 700)
    )
    request = (
        b"POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunks
        + b"0\r\n\r\n"
    )

    raw = raw_exchange(sidecar.port, request)

    status, headers, payload = split_response(raw)
    assert model.received[-1].body == body
    assert status == 200
    assert ("Transfer-Encoding", "chunked") in headers
    decoded, rest = b"", payload
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        decoded, rest = decoded + rest[:size], rest[size + 2 :]
    assert decoded == body


def test_http10_client_gets_a_close_delimited_answer(sidecar: Sidecar) -> None:
    with socket.create_connection(("127.0.0.1", sidecar.port), timeout=10) as sock:
        sock.sendall(b"POST /echo HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk

    status, headers, body = split_response(raw)
    assert (status, body) == (200, b"hello")
    assert ("Connection", "close") in headers


def test_expect_100_continue_is_answered_before_the_body_is_sent(sidecar: Sidecar) -> None:
    with socket.create_connection(("127.0.0.1", sidecar.port), timeout=10) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = sock.recv(64)
        sock.sendall(b"body")
        final = read_response(sock)

    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert split_response(final)[::2] == (200, b"body")


def test_pipelined_requests_are_answered_in_order(sidecar: Sidecar) -> None:
    requests = b"".join(http_request("POST", "/echo", f"request {i}".encode()) for i in range(5))

    with socket.create_connection(("127.0.0.1", sidecar.port), timeout=10) as sock:
        sock.sendall(requests)
        answers = read_responses(sock, 5)

    assert answers == [(200, f"request {i}".encode()) for i in range(5)]


def test_keep_alive_connection_serves_many_requests(sidecar: Sidecar) -> None:
    with socket.create_connection(("127.0.0.1", sidecar.port), timeout=10) as sock:
        for i in range(20):
            sock.sendall(http_request("POST", "/echo", b"x" * i))
            assert split_response(read_response(sock))[2] == b"x" * i


def test_malformed_http_gets_400_from_the_sidecar(sidecar: Sidecar) -> None:
    raw = raw_exchange(sidecar.port, b"NOT HTTP AT ALL\r\n\r\n")

    assert split_response(raw)[0] == 400


def test_upstream_down_gives_502_with_a_clear_body(baseline_file: Any) -> None:
    dead_port = free_port()
    sidecar = start_sidecar(dead_port, baseline_file)
    try:
        status, headers, body = split_response(
            raw_exchange(sidecar.port, http_request("POST", "/v2/models/m/infer", b"{}"))
        )
        ready = sidecar.get("/readyz")[0]
    finally:
        assert sidecar.stop() == 0

    assert status == 502
    assert ("X-Kubedrift-Error", "502") in headers
    assert f"upstream http://127.0.0.1:{dead_port} is unreachable".encode() in body
    assert ready == 503


def test_large_first_request_streams_while_the_upstream_connection_opens(
    model: ModelServer, baseline_file: Any
) -> None:
    sidecar = start_sidecar(model.port, baseline_file)  # empty pool: the first request connects
    body = b"z" * (4 << 20)
    try:
        raw = raw_exchange(
            sidecar.port, http_request("POST", "/echo", body, [("X-Request-ID", "l")])
        )
    finally:
        sidecar.stop()

    assert split_response(raw)[::2] == (200, body)


def test_a_slow_client_leaves_no_paused_upstream_connection_in_the_pool(sidecar: Sidecar) -> None:
    body = b"s" * (4 << 20)
    with socket.socket() as slow:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(("127.0.0.1", sidecar.port))
        slow.sendall(http_request("POST", "/echo", body, [("X-Request-ID", "slow")]))
        # Not reading for a while lets the sidecar's send buffer fill, so the response ends while
        # reading from the upstream is paused (the situation this test is about; the outcome
        # below does not depend on how long the pause is).
        time.sleep(0.5)
        slow.settimeout(30)
        first = read_response(slow)
    following = [
        raw_exchange(
            sidecar.port,
            http_request("POST", "/echo", b"next", [("X-Request-ID", "n")]),
            timeout=10,
        )
        for _ in range(3)
    ]

    assert split_response(first)[2] == body
    assert [split_response(raw)[2] for raw in following] == [b"next"] * 3


def test_requests_keep_flowing_when_the_monitor_process_dies(
    model: ModelServer, baseline_file: Any
) -> None:
    sidecar = start_sidecar(model.port, baseline_file, "--sample-rate", "1")
    pid = sidecar.process.pid
    try:
        (monitor,) = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        os.kill(int(monitor), signal.SIGKILL)

        def admin_port_gone() -> bool:  # the admin port goes away with the monitor
            try:
                sidecar.get("/healthz")
            except OSError:
                return True
            return False

        wait_for("the admin port to close with the monitor", admin_port_gone, 30, interval=0.05)
        requests = [
            http_request(
                "POST", "/v2/models/m/infer", json.dumps(OIP).encode(), [("X-Request-ID", f"m{i}")]
            )
            for i in range(20)
        ]
        answers = [(raw_exchange(sidecar.port, r), raw_exchange(model.port, r)) for r in requests]
    finally:
        sidecar.stop()

    assert all(proxied == direct for proxied, direct in answers)


def test_an_unreadable_baseline_stops_the_start_with_exit_code_2(
    model: ModelServer, tmp_path: Path
) -> None:
    command = [
        sys.executable, "-m", "kubedrift", "sidecar", "--listen", f"127.0.0.1:{free_port()}",
        "--admin", f"127.0.0.1:{free_port()}", "--upstream", f"http://127.0.0.1:{model.port}",
        "--baseline", str(tmp_path / "missing.json"),
    ]  # fmt: skip

    finished = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    assert finished.returncode == 2
    assert "missing.json" in finished.stderr


def test_upstream_closing_kept_alive_connections_unannounced_costs_no_request(
    sidecar: Sidecar,
) -> None:
    requests = [
        http_request("POST", "/bye", f"bye {i}".encode(), [("X-Request-ID", "b")])
        for i in range(30)
    ]

    with socket.create_connection(("127.0.0.1", sidecar.port), timeout=10) as sock:
        answers = []
        for request in requests:
            sock.sendall(request)
            answers.append(split_response(read_response(sock))[::2])

    assert answers == [(200, f"bye {i}".encode()) for i in range(30)]


def test_the_monitor_process_exits_when_the_proxy_process_is_killed(
    model: ModelServer, baseline_file: Any
) -> None:
    sidecar = start_sidecar(model.port, baseline_file)
    pid = sidecar.process.pid
    (monitor,) = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()

    sidecar.process.kill()
    sidecar.process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while Path(f"/proc/{monitor}").exists() and "State:\tZ" not in _status(monitor):
        assert time.monotonic() < deadline, "the monitor process outlived the proxy"
        time.sleep(0.05)


def _status(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "State:\tZ"


def test_the_monitor_process_runs_at_a_lower_cpu_priority_than_the_proxy(
    model: ModelServer, baseline_file: Any
) -> None:
    sidecar = start_sidecar(model.port, baseline_file)
    pid = sidecar.process.pid
    try:
        (monitor,) = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        proxy_nice, monitor_nice = (os.getpriority(os.PRIO_PROCESS, p) for p in (pid, int(monitor)))
    finally:
        sidecar.stop()

    assert MONITOR_NICENESS == 10
    assert monitor_nice == min(proxy_nice + MONITOR_NICENESS, 19)  # Linux caps niceness at 19
