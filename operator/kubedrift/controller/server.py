"""The operator's HTTP server: ``/healthz``, ``/metrics``, the retraining dataset and labels.

=================================  ======  ===================================================
path                               auth    what
=================================  ======  ===================================================
/healthz                           none    200 while kopf runs and watches (liveness, readiness)
/metrics                           none    Prometheus exposition of the operator's registry
/v1/datasets/{namespace}/{name}    token   dataset B for a retraining Job (see ``dataset``)
/v1/feedback/{namespace}/{name}    token   POST labels, fanned out to every sidecar (``feedback``)
=================================  ======  ===================================================
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from kubedrift.controller import feedback
from kubedrift.controller.dataset import DatasetRegistry, add_routes


def operator_app(
    registry: CollectorRegistry,
    datasets: DatasetRegistry,
    problem: Callable[[], str | None],
    *,
    labels: feedback.FeedbackService | None = None,
) -> web.Application:
    """The application; ``problem`` says why the operator is not healthy (``None`` while it is:
    kopf runs and watches, see ``watch_health``), ``labels`` serves the feedback endpoint (not
    mounted without it)."""

    async def healthz(_: web.Request) -> web.Response:
        trouble = problem()
        if trouble is None:
            return web.Response(text="ok\n")
        return web.Response(text=f"{trouble}\n", status=503)

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application(client_max_size=feedback.MAX_BODY_BYTES)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    add_routes(app, datasets)
    if labels is not None:
        feedback.add_routes(app, labels)
    return app
