"""The operator's HTTP server: ``/healthz``, ``/metrics`` and the retraining dataset.

=================================  ======  ===================================================
path                               auth    what
=================================  ======  ===================================================
/healthz                           none    200 while the kopf operator task runs (liveness)
/metrics                           none    Prometheus exposition of the operator's registry
/v1/datasets/{namespace}/{name}    token   dataset B for a retraining Job (see ``dataset``)
=================================  ======  ===================================================
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from kubedrift.controller.dataset import DatasetRegistry, add_routes


def operator_app(
    registry: CollectorRegistry, datasets: DatasetRegistry, alive: Callable[[], bool]
) -> web.Application:
    """The application; ``alive`` tells whether the operator's main task still runs."""

    async def healthz(_: web.Request) -> web.Response:
        if alive():
            return web.Response(text="ok\n")
        return web.Response(text="operator stopped\n", status=503)

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    add_routes(app, datasets)
    return app
