"""Traffic for the sidecar reliability tests: a seeded mix of requests, clients that send each one
through the sidecar and directly to the model and compare the two responses byte for byte, and a
process that hammers the admin endpoints meanwhile.

Clients run in their own processes (the test process would otherwise be the bottleneck); each
returns how many exchanges it compared and the first few that differed.
"""

from __future__ import annotations

import json
import random
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from support.sidecar_process import Sidecar, http_request, read_response

PATHS = ("/v2/models/m/infer", "/v1/models/m:predict", "/api/v1.0/predictions", "/invocations")


def _body(rng: random.Random, path: str, rows: int) -> bytes:
    values = [[round(rng.gauss(0, 1), 4) for _ in range(3)] for _ in range(rows)]
    if path.startswith("/v2/"):
        flat = [v for row in values for v in row]
        tensor = {"name": "x", "shape": [rows, 3], "datatype": "FP64", "data": flat}
        return json.dumps({"id": f"o{rng.random()}", "inputs": [tensor]}).encode()
    if path.startswith("/v1/"):
        return json.dumps({"instances": values}).encode()
    if path.startswith("/api/"):
        return json.dumps({"data": {"ndarray": values}, "meta": {"puid": "p"}}).encode()
    return json.dumps(
        {"dataframe_split": {"columns": ["x-0", "x-1", "x-2"], "data": values}}
    ).encode()


def request_mix(seed: int, count: int) -> list[bytes]:
    """``count`` requests: mostly inference calls of every protocol (1-4 rows), plus unparsable
    bodies, model errors (4xx/5xx passed through), GETs and HEAD-less metadata calls. Every request
    carries an ``X-Request-ID``, so the sidecar adds no header and responses must be identical."""
    rng = random.Random(seed)
    requests = []
    for i in range(count):
        headers = [("X-Request-ID", f"r{seed}-{i}"), ("Content-Type", "application/json")]
        kind = rng.random()
        if kind < 0.80:
            path = rng.choice(PATHS)
            requests.append(
                http_request("POST", path, _body(rng, path, rng.randint(1, 4)), headers)
            )
        elif kind < 0.88:
            garbage = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
            requests.append(http_request("POST", rng.choice(PATHS), garbage, headers))
        elif kind < 0.95:
            status = rng.choice(("404", "500", "503"))
            echo = [*headers, ("X-Status", status)]
            requests.append(http_request("POST", "/echo", b'{"error": "model"}', echo))
        else:
            requests.append(http_request("GET", "/v2/models/m", b"", headers))
    return requests


@dataclass
class ClientResult:
    compared: int = 0
    differing: list[tuple[bytes, bytes, bytes]] = field(default_factory=list)


def _exchange(sock: socket.socket, request: bytes) -> bytes:
    sock.sendall(request)
    return read_response(sock)


def compare_client(sidecar_port: int, model_port: int, requests: list[bytes]) -> ClientResult:
    """Send every request through the sidecar and directly (one keep-alive connection each) and
    compare the raw responses. A connection the server closed is reopened (the model server
    closes after error statuses it chooses to; that is part of the direct path too)."""
    result = ClientResult()
    through = socket.create_connection(("127.0.0.1", sidecar_port), timeout=60)
    direct = socket.create_connection(("127.0.0.1", model_port), timeout=60)
    try:
        for request in requests:
            proxied = _exchange(through, request)
            answer = _exchange(direct, request)
            result.compared += 1
            if proxied != answer and len(result.differing) < 5:
                result.differing.append((request, proxied, answer))
            if b"\r\nConnection: close" in proxied.split(b"\r\n\r\n", 1)[0]:
                through.close()
                through = socket.create_connection(("127.0.0.1", sidecar_port), timeout=60)
            if b"\r\nConnection: close" in answer.split(b"\r\n\r\n", 1)[0]:
                direct.close()
                direct = socket.create_connection(("127.0.0.1", model_port), timeout=60)
    finally:
        through.close()
        direct.close()
    return result


def hammer_admin(admin_port: int, token: str | None, stop: Any, seed: int) -> dict[str, int]:
    """Call ``/metrics``, ``/v1/window``, ``/v1/labeled`` and ``/v1/feedback`` (random and
    malformed labels) back to back until ``stop`` (an Event) is set; returns the count of answers
    per status."""
    rng = random.Random(seed)
    statuses: dict[str, int] = {}
    while not stop.is_set():
        choice = rng.randrange(4)
        url = f"http://127.0.0.1:{admin_port}"
        if choice == 3:
            items = [{"id": f"r{seed}-{rng.randrange(100000)}", "label": rng.randrange(2)}]
            body = rng.choice([json.dumps(items).encode(), b"{not json", b'{"id": 1}', b"[]"])
            request = urllib.request.Request(f"{url}/v1/feedback", data=body, method="POST")
        else:
            path = ("/metrics", "/v1/window", "/v1/labeled")[choice]
            request = urllib.request.Request(f"{url}{path}")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                answer.read()
                key = str(answer.status)
        except urllib.error.HTTPError as error:
            key = str(error.code)
        except OSError as error:
            key = type(error).__name__
        statuses[key] = statuses.get(key, 0) + 1
    return statuses


Metrics = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def processed(metrics: Metrics) -> float:
    names = ("kubedrift_exchanges_parsed_total", "kubedrift_unparsable_total")
    return sum(value for (name, _), value in metrics.items() if name in names)


def settled_metrics(sidecar: Sidecar) -> Metrics:
    """The metrics once the queues are empty and the counters stopped moving (the request-path
    counters arrive in snapshots at least once a second)."""
    deadline = time.monotonic() + 60
    previous: Metrics = {}
    while True:
        current = sidecar.metrics()
        depth = current[("kubedrift_queue_depth", ())]
        if depth == 0 and current == previous:
            return current
        assert time.monotonic() < deadline, "the sidecar's counters did not settle"
        previous = current
        time.sleep(1.5)
