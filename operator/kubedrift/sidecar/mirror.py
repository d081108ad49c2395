"""Mirror mode: nothing in the request path; exchanges arrive as copies.

Two inputs, both on the listen port: KServe's payload logger (CloudEvents in binary mode, one
POST for the request and one for the response, joined on ``ce-id``) and ``POST /v1/log`` with
``{"request": ..., "response": ..., "id": ...}``. Joined exchanges go through the same sample queue
as proxy mode. Halves waiting for their partner are bounded in number and age; those that never
meet are counted (``kubedrift_mirror_unmatched_total``).

KServe's CloudEvents carry no request path: their ``ce-source``, ``inferenceservicename``,
``component`` and ``endpoint`` name the InferenceService's agent, not the model it served. A
collector of monitors of named models (``spec.target.model``, ``named_models``) reads the model
from the response instead: an Open Inference Protocol response names it in ``model_name``, and
the exchange is routed as if it had been served on that model's OIP path
(:func:`path_from_response`), so another model's exchanges stay out of the window. A KServe v1
response (``{"predictions": ...}``) names no model: such an exchange keeps the empty path, which
a collector of one model takes as its own and a shared one counts as nobody's
(``kubedrift.sidecar.models``).
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from kubedrift.sidecar.sampling import Sample, SampleQueue, Sampler
from kubedrift.sidecar.sidecar_metrics import Metrics

REQUEST_TYPE_SUFFIX = ".request"
RESPONSE_TYPE_SUFFIX = ".response"


class CloudEventJoiner:
    """Pairs request and response CloudEvents by ``ce-id`` (either may come first).

    >>> joiner = CloudEventJoiner(capacity=10, ttl=60.0)
    >>> joiner.add("a", "request", b"{}", now=0.0) is None
    True
    >>> joiner.add("a", "response", b"[]", now=1.0)
    (b'{}', b'[]')
    """

    def __init__(self, capacity: int, ttl: float) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self._halves: OrderedDict[str, tuple[str, bytes, float]] = OrderedDict()
        self.unmatched = 0

    def add(self, event_id: str, kind: str, body: bytes, now: float) -> tuple[bytes, bytes] | None:
        """Store one half; returns ``(request, response)`` once both are in."""
        self._expire(now)
        other = self._halves.get(event_id)
        if other is not None and other[0] != kind:
            del self._halves[event_id]
            return (other[1], body) if kind == "response" else (body, other[1])
        self._halves[event_id] = (kind, body, now)
        while len(self._halves) > self.capacity:
            self._halves.popitem(last=False)
            self.unmatched += 1
        return None

    def _expire(self, now: float) -> None:
        while self._halves:
            _, (_, _, added) = next(iter(self._halves.items()))
            if now - added <= self.ttl:
                return
            self._halves.popitem(last=False)
            self.unmatched += 1


def mirror_app(
    queue: SampleQueue[Sample],
    sampler: Sampler,
    metrics: Metrics,
    *,
    joiner: CloudEventJoiner | None = None,
    clock: Callable[[], float] = time.time,
    named_models: bool = False,
) -> web.Application:
    """The listen-port application of mirror mode; ``named_models``: route CloudEvents by the
    model their response names (a collector of monitors of named models)."""
    joiner = joiner or CloudEventJoiner(capacity=10_000, ttl=60.0)
    reported = 0

    def offer(sample: Sample) -> None:
        nonlocal reported
        if sampler.admit(clock()):
            queue.offer(sample)
        if joiner.unmatched > reported:
            metrics.mirror_unmatched.inc(joiner.unmatched - reported)
            reported = joiner.unmatched

    async def log(request: web.Request) -> web.Response:
        try:
            document = json.loads(await request.read())
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        if not isinstance(document, dict) or "request" not in document:
            return web.json_response({"error": "expected {request, response, id}"}, status=400)
        request_id = document.get("id")
        original_path = document.get("path")
        offer(
            Sample(
                # The model server's path, when the poster knows it (one monitor per model).
                path=original_path if isinstance(original_path, str) else "",
                status=200,
                request_body=_encoded(document["request"]),
                response_body=_encoded(document.get("response")),
                x_request_id=str(request_id) if request_id is not None else None,
            )
        )
        return web.json_response({"accepted": True}, status=202)

    async def cloud_event(request: web.Request) -> web.Response:
        event_id = request.headers.get("ce-id")
        event_type = request.headers.get("ce-type", "")
        if not event_id or not event_type.endswith((REQUEST_TYPE_SUFFIX, RESPONSE_TYPE_SUFFIX)):
            return web.json_response({"error": "expected a KServe logger CloudEvent"}, status=400)
        kind = "request" if event_type.endswith(REQUEST_TYPE_SUFFIX) else "response"
        pair = joiner.add(event_id, kind, await request.read(), clock())
        if pair is not None:
            request_body, response_body = pair
            # The events do not carry the model server's path: "" (see payloads.routes), or the
            # OIP path of the model the response names when several models share the collector.
            path = path_from_response(response_body) if named_models else ""
            offer(Sample(path, 200, request_body, response_body, ce_id=event_id))
        return web.Response(status=202)

    app = web.Application(client_max_size=64 << 20)
    app.router.add_post("/v1/log", log)
    app.router.add_post("/{tail:.*}", cloud_event)
    return app


def path_from_response(response: bytes) -> str:
    """The OIP path of the model a logged response names (``model_name``), else ``""``.

    >>> path_from_response(b'{"model_name": "wine", "outputs": []}')
    '/v2/models/wine/infer'
    >>> path_from_response(b'{"predictions": [0, 1]}'), path_from_response(b'not json')
    ('', '')
    """
    if not response.lstrip().startswith(b"{"):
        return ""
    try:
        document = json.loads(response)
    except ValueError:
        return ""
    name = document.get("model_name") if isinstance(document, dict) else None
    if not isinstance(name, str) or not name:
        return ""
    return f"/v2/models/{quote(name, safe='')}/infer"


def _encoded(value: Any) -> bytes:
    """A logged body: strings are taken as the raw body, anything else re-encoded as JSON."""
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value).encode()
