"""The traffic generator: inference requests through the sidecars' proxy port, then the true
labels to the operator's ``/v1/feedback/{namespace}/{monitor}`` endpoint, the way a client with
late ground truth would (the operator sends them to every sidecar of the model; the one that served
the request joins them).

:func:`send_step` sends ``rows`` rows of one world as OIP v2 requests of ``batch`` rows each,
round robin over the Pods, and after each request posts that request's labels (a list, one per
row) with the monitor's sidecar token. The step's last request carries a single row: when a step
fills a window exactly, only that row's label arrives after the window is full, so it is the
only one that lands in the next window (dataset B of a retraining stays clean). A label is posted
again until it joins while it is answered ``unknown`` (its sidecar has not parsed the request
yet, or the operator has not seen a new Pod yet: it looks the sidecars up every two seconds) or
503 (no ready sidecar at that moment, during a rollout).
"""

from __future__ import annotations

import http.client
import itertools
import json
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import numpy as np

from kubedrift_dev.demo.manifests import PROXY_PORT
from kubedrift_dev.demo.model_server import MODEL_NAME
from kubedrift_dev.demo.scenario import FEATURES, World

#: Posts of one request's labels before giving up, ``JOIN_RETRY`` seconds apart.
JOIN_ATTEMPTS = 100
JOIN_RETRY = 0.1


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
        """The JSON answer; RuntimeError unless the status is 200."""
        status, payload = self.request(host, port, path, document, token)
        if status != 200:
            raise RuntimeError(f"POST {host}:{port}{path}: {status} {payload[:200]!r}")
        return json.loads(payload)

    def request(
        self, host: str, port: int, path: str, document: Any, token: str | None = None
    ) -> tuple[int, bytes]:
        """POST ``document`` as JSON; answer the status and the body (a dropped kept-alive
        connection is opened again once)."""
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
                return response.status, response.read()
            except (ConnectionError, http.client.HTTPException):
                connection.close()
                del self._open[(host, port)]
                if attempt == 2:
                    raise
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
    labels_url: str,
) -> StepTraffic:
    """Send one step of traffic and its labels (to ``labels_url``, the operator's feedback
    endpoint for the monitor); answer what the model got right."""
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
        joined += post_labels(connections, labels_url, token, request_id, truth.tolist())
    return StepTraffic(world.name, rows, correct, joined)


def post_labels(
    connections: Connections, url: str, token: str, request_id: str, labels: list[int]
) -> int:
    """Post the labels of one request until they join; answer how many rows joined."""
    where = urllib.parse.urlsplit(url)
    host, port = where.hostname or "", where.port or 80
    for _ in range(JOIN_ATTEMPTS):
        status, payload = connections.request(
            host, port, where.path, {"id": request_id, "label": labels}, token
        )
        if status == 200:
            outcome = json.loads(payload)
            if outcome.get("joined"):
                return len(labels)
            if not outcome.get("unknown"):
                return 0  # expired, duplicate or invalid: counted, not retried
        elif status != 503:
            raise RuntimeError(f"POST {url}: {status} {payload[:200]!r}")
        time.sleep(JOIN_RETRY)
    return 0
