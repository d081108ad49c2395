"""The traffic generator: inference requests through the sidecars' proxy port, then the true
labels to their ``/v1/feedback`` endpoint, the way a client with late ground truth would.

:func:`send_step` sends ``rows`` rows of one world as OIP v2 requests of ``batch`` rows each,
round robin over the Pods, and after each request posts that request's labels (a list, one per
row) with the sidecar's admin token. The step's last request carries a single row: when a step
fills a window exactly, only that row's label arrives after the window is full, so it is the
only one that lands in the next window (dataset B of a retraining stays clean). A label that
arrives before the sidecar's worker has parsed its request is answered ``unknown``; it is posted
again until it joins.
"""

from __future__ import annotations

import http.client
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from kubedrift.demo.manifests import ADMIN_PORT, PROXY_PORT
from kubedrift.demo.model_server import MODEL_NAME
from kubedrift.demo.scenario import FEATURES, World

JOIN_ATTEMPTS = 50


@dataclass(frozen=True)
class StepTraffic:
    world: str
    rows: int
    correct: int
    joined: int

    @property
    def accuracy(self) -> float:
        """Share of this step's predictions that matched the true label."""
        return self.correct / self.rows if self.rows else float("nan")


class Connections:
    """Kept-alive HTTP connections per (host, port)."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, int], http.client.HTTPConnection] = {}

    def post(self, host: str, port: int, path: str, document: Any, token: str | None = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = json.dumps(document).encode()
        for attempt in (1, 2):
            connection = self._open.get((host, port))
            if connection is None:
                connection = http.client.HTTPConnection(host, port, timeout=30)
                self._open[(host, port)] = connection
            try:
                connection.request("POST", path, body, headers)
                response = connection.getresponse()
                payload = response.read()
            except (ConnectionError, http.client.HTTPException):
                connection.close()
                del self._open[(host, port)]
                if attempt == 2:
                    raise
                continue
            if response.status != 200:
                raise RuntimeError(f"POST {host}:{port}{path}: {response.status} {payload[:200]!r}")
            return json.loads(payload)
        raise AssertionError("unreachable")

    def close(self) -> None:
        for connection in self._open.values():
            connection.close()
        self._open.clear()


def send_step(
    connections: Connections,
    pod_ips: list[str],
    world: World,
    *,
    rows: int,
    batch: int,
    seed: int,
    token: str,
    prefix: str,
) -> StepTraffic:
    """Send one step of traffic and its labels; answer what the model got right."""
    x, y = world.sample(rows, seed)
    correct = joined = 0
    starts = [*range(0, rows - 1, batch), rows - 1, rows]
    for number, (start, end) in enumerate(itertools.pairwise(starts)):
        ip = pod_ips[number % len(pod_ips)]
        chunk, truth = x[start:end], y[start:end]
        request_id = f"{prefix}-{number}"
        inputs = [
            {"name": name, "shape": [len(chunk)], "datatype": "FP64", "data": chunk[:, i].tolist()}
            for i, name in enumerate(FEATURES)
        ]
        answer = connections.post(
            ip, PROXY_PORT, f"/v2/models/{MODEL_NAME}/infer", {"id": request_id, "inputs": inputs}
        )
        predicted = np.asarray(answer["outputs"][0]["data"], dtype=np.int64)
        correct += int(np.sum(predicted == truth))
        joined += _feedback(connections, ip, token, request_id, truth.tolist())
    return StepTraffic(world.name, rows, correct, joined)


def _feedback(
    connections: Connections, ip: str, token: str, request_id: str, labels: list[int]
) -> int:
    """Post the labels of one request until they join; answer how many rows joined."""
    for _ in range(JOIN_ATTEMPTS):
        outcome = connections.post(
            ip, ADMIN_PORT, "/v1/feedback", {"id": request_id, "label": labels}, token
        )
        if outcome.get("joined"):
            return len(labels)
        if not outcome.get("unknown"):
            return 0  # expired, duplicate or invalid: counted by the sidecar, not retried
        time.sleep(0.05)
    return 0
