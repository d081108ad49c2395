"""Dataset B for retraining Jobs: the sidecars' labeled rows, merged and served by the operator.

``GET /v1/datasets/{namespace}/{monitor}`` on the operator's HTTP port (the same server as
``/healthz`` and ``/metrics``), with ``Authorization: Bearer <token>`` where the token is the
``dataset-token`` key of the monitor's Secret ``{monitor}-kubedrift-token`` (a retraining Job
gets it as ``KUBEDRIFT_DATASET_TOKEN``). The answer::

    {"namespace": "ml", "monitor": "fraud-model", "count": 640,
     "sidecars": {"desired": 3, "reporting": 3},
     "rows": [{"features": {"amount": 12.5, ...}, "prediction": 1, "label": 0,
               "time": 1796640000.0}, ...]}

``time`` is when the row's label was joined (Unix seconds): a Job splits the rows by it.

Rows are each sidecar's bounded labeled sample (``GET /v1/labeled``) concatenated; no extra
storage exists, so the dataset is what the running sidecars hold right now. 401 for a missing or
wrong token, 404 for a monitor this operator does not serve.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kubedrift.bearer import bearer_matches
from kubedrift.wire import OPERATOR_DATASET_ROUTE

#: Fetches the merged dataset of one monitor when asked.
Fetcher = Callable[[], Awaitable[dict[str, Any]]]


@dataclass
class DatasetRegistry:
    """Tokens and fetchers of the monitors this operator serves, keyed by (namespace, name).

    The evaluation loop registers each monitor on every round (so a restarted operator serves a
    monitor again after its first round) and unregisters it on deletion.
    """

    entries: dict[tuple[str, str], tuple[str, Fetcher]] = field(default_factory=dict)

    def register(self, namespace: str, name: str, token: str, fetch: Fetcher) -> None:
        self.entries[(namespace, name)] = (token, fetch)

    def unregister(self, namespace: str, name: str) -> None:
        self.entries.pop((namespace, name), None)

    def authorized(self, namespace: str, name: str, header: str) -> Fetcher | None:
        """The fetcher when ``header`` carries the monitor's token, else ``None``."""
        entry = self.entries.get((namespace, name))
        if entry is None:
            return None
        token, fetch = entry
        if not bearer_matches(header, token):
            return None
        return fetch


def merge_labeled(reports: list[Any]) -> tuple[list[dict[str, Any]], int]:
    """Concatenate ``GET /v1/labeled`` answers; returns the rows and how many sidecars answered."""
    rows: list[dict[str, Any]] = []
    reporting = 0
    for report in reports:
        if isinstance(report, dict) and isinstance(report.get("rows"), list):
            reporting += 1
            rows.extend(r for r in report["rows"] if isinstance(r, dict))
    return rows, reporting


def add_routes(app: web.Application, registry: DatasetRegistry) -> None:
    """Mount the dataset endpoint on the operator's application."""

    async def dataset(request: web.Request) -> web.Response:
        namespace = request.match_info["namespace"]
        name = request.match_info["name"]
        if (namespace, name) not in registry.entries:
            return web.json_response({"error": f"no monitor {namespace}/{name}"}, status=404)
        fetch = registry.authorized(namespace, name, request.headers.get("Authorization", ""))
        if fetch is None:
            return web.json_response(
                {"error": "missing or wrong bearer token"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="kubedrift-dataset"'},
            )
        return web.json_response(await fetch())

    app.router.add_get(OPERATOR_DATASET_ROUTE, dataset)
