"""The admin port: labels in, windows and metrics out, health for the kubelet.

=================  ======  =====================================================================
path               auth    what
=================  ======  =====================================================================
/v1/feedback       token   POST ``{"id", "label"}`` or a list of them; answers counts per outcome
                           (``X-Kubedrift-Fanout: 1``: sent to every replica, see ``labels``)
/v1/window         token   GET current and last completed window (sketch JSON, pod, time bounds,
                           the monitored model, exchanges that matched no baseline feature)
/v1/labeled        token   GET the bounded labeled rows (dataset B for a retraining Job)
/metrics           none    Prometheus exposition of the process registry
/healthz           none    200 while the process runs
/readyz            none    200 while the upstream accepts connections, 503 while draining
=================  ======  =====================================================================

"token" means: when a bearer token is configured, requests need ``Authorization: Bearer <token>``.
A sidecar shared by several monitors (one per model) has one token per monitor; any of them is
accepted.

The ``/v1`` paths take an optional ``?model=NAME``: the window, labeled rows or feedback of that
model's monitor in a shared sidecar (404 for a model the sidecar does not monitor). Without it the
window and labeled rows are the first model's (the only one of an unshared sidecar) and each label
goes to the monitor that holds its request id. The window document lists every monitored model
under ``models``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kubedrift.bearer import bearer_matches
from kubedrift.sidecar.model_group import ModelGroup
from kubedrift.sidecar.monitor import Monitor
from kubedrift.sidecar.sidecar_metrics import Metrics
from kubedrift.sidecar.windows import PodIdentity
from kubedrift.wire import (
    FANOUT_HEADER,
    FEEDBACK_PATH,
    LABELED_PATH,
    MAX_FEEDBACK_ITEMS,
    SHADOW_PATH,
    WINDOW_PATH,
    WINDOW_ROWS_PARAMETER,
    feedback_id,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_OPEN_PATHS = frozenset(("/metrics", "/healthz", "/readyz"))


class Readiness:
    """``/readyz``: ready while the upstream accepts connections, not while draining."""

    def __init__(self) -> None:
        self.upstream_up = False
        self.proxy_serving = False
        self.draining = False

    @property
    def ready(self) -> bool:
        return self.upstream_up and self.proxy_serving and not self.draining


def admin_app(
    monitor: Monitor | ModelGroup,
    metrics: Metrics,
    pod: PodIdentity,
    readiness: Readiness,
    *,
    token: str | tuple[str, ...] | None = None,
    clock: Callable[[], float] = time.time,
    catch_up: Callable[[], Awaitable[None]] | None = None,
    set_shadow: Callable[[tuple[str, int] | None], bool] | None = None,
) -> web.Application:
    """The admin application; ``token`` enables bearer authentication of the ``/v1`` paths.

    ``catch_up`` (the worker's) runs before labels are joined when one of them names an id the
    label store does not know: its sample may be parsed but waiting for the next batch.
    ``token`` may be several (a shared sidecar's, one per monitor): any of them is accepted.
    ``set_shadow`` (the monitor service's) hands ``PUT /v1/shadow``'s target to the proxy
    process; without it (or without a proxy process) that path answers 409.
    """
    group = monitor if isinstance(monitor, ModelGroup) else ModelGroup((monitor,))
    tokens = (token,) if isinstance(token, str) else tuple(token or ())

    def chosen(request: web.Request) -> Monitor:
        found = group.by_model(request.query.get("model"))
        if found is None:
            raise web.HTTPNotFound(
                text=json.dumps({"error": f"model {request.query['model']!r} is not monitored"}),
                content_type="application/json",
            )
        return found

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if tokens and request.path not in _OPEN_PATHS:
            sent = request.headers.get("Authorization", "")
            if not any(bearer_matches(sent, expected) for expected in tokens):
                return web.json_response(
                    {"error": "missing or wrong bearer token"},
                    status=401,
                    headers={"WWW-Authenticate": 'Bearer realm="kubedrift-sidecar"'},
                )
        return await handler(request)

    async def feedback(request: web.Request) -> web.Response:
        try:
            document: Any = json.loads(await request.read())
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        items = document if isinstance(document, list) else [document]
        if len(items) > MAX_FEEDBACK_ITEMS:
            return web.json_response(
                {"error": f"at most {MAX_FEEDBACK_ITEMS} labels per call"}, status=413
            )
        fanout = request.headers.get(FANOUT_HEADER) == "1"
        named = "model" in request.query
        candidates = (chosen(request),) if named else group.monitors
        if catch_up is not None and any(
            (request_id := feedback_id(item)) is not None
            and not any(m.labels.knows(request_id) for m in candidates)
            for item in items
        ):
            await catch_up()
        if len(candidates) == 1:
            return web.json_response(candidates[0].feedback(items, clock(), fanout=fanout))
        # a shared sidecar without ?model=: each label goes to the monitor that knows its id
        parts: dict[int, list[Any]] = {} if items else {0: []}
        for item in items:
            request_id = feedback_id(item)
            index = next(
                (i for i, m in enumerate(candidates) if request_id and m.labels.knows(request_id)),
                0,
            )
            parts.setdefault(index, []).append(item)
        answer: dict[str, Any] = {}
        for index, part in sorted(parts.items()):
            for key, value in candidates[index].feedback(part, clock(), fanout=fanout).items():
                answer[key] = answer.get(key, [] if key == "rejected" else 0) + value
        return web.json_response(answer)

    async def window(request: web.Request) -> web.Response:
        monitor = chosen(request)
        rows = request.query.get(WINDOW_ROWS_PARAMETER) != "false"
        report = monitor.windows.to_dict(pod, clock(), labeled_rows=rows)
        report["model"] = monitor.model
        report["models"] = group.models
        report["schemaMismatches"] = monitor.schema_mismatches
        return web.json_response(report)

    async def shadow(request: web.Request) -> web.Response:
        try:
            target = shadow_target(json.loads(await request.read()))
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=400)
        if set_shadow is None or not set_shadow(target):
            return web.json_response(
                {"error": "no proxy process to mirror from (capture.mode proxy needed)"},
                status=409,
            )
        url = None if target is None else f"http://{target[0]}:{target[1]}"
        return web.json_response({"url": url})

    async def labeled(request: web.Request) -> web.Response:
        rows = chosen(request).windows.labeled_rows()
        if pod.model_version is not None:  # which model answered each row
            rows = [{**row, "modelVersion": pod.model_version} for row in rows]
        return web.json_response({"pod": pod.to_dict(), "rows": rows, "count": len(rows)})

    async def metrics_page(_: web.Request) -> web.Response:
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        if readiness.ready:
            return web.Response(text="ready\n")
        if readiness.draining:
            reason = "draining"
        elif not readiness.proxy_serving:
            reason = "the proxy is not listening yet"
        else:
            reason = "upstream not reachable"
        return web.Response(text=f"not ready: {reason}\n", status=503)

    app = web.Application(middlewares=[authenticate], client_max_size=16 << 20)
    app.router.add_post(FEEDBACK_PATH, feedback)
    app.router.add_get(WINDOW_PATH, window)
    app.router.add_get(LABELED_PATH, labeled)
    app.router.add_put(SHADOW_PATH, shadow)
    app.router.add_get("/metrics", metrics_page)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


def shadow_target(document: Any) -> tuple[str, int] | None:
    """``(host, port)`` of a ``PUT /v1/shadow`` body ``{"url": "http://host[:port]"}``, or
    ``None`` for ``{"url": null}``; :class:`ValueError` names what is wrong.

    >>> shadow_target({"url": "http://10.0.0.7:9000"}), shadow_target({"url": None})
    (('10.0.0.7', 9000), None)
    """
    if not isinstance(document, dict) or "url" not in document:
        raise ValueError('the body must be {"url": "http://host:port"} or {"url": null}')
    url = document["url"]
    if url is None:
        return None
    if not isinstance(url, str):
        raise ValueError("url must be a string or null")
    parts = urlsplit(url)
    try:
        port = parts.port or 80
    except ValueError:
        raise ValueError(f"url {url!r} has an invalid port") from None
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"url {url!r} must be http://host[:port] (no path)")
    return parts.hostname, port
