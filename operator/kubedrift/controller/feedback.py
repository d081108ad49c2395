"""Labels for a model with several replicas: one endpoint that fans them out to every sidecar.

``POST /v1/feedback/{namespace}/{monitor}`` on the operator's HTTP port takes what a sidecar's
``POST /v1/feedback`` takes (``{"id", "label"}`` or a list of them, at most
``MAX_FEEDBACK_ITEMS``), with ``Authorization: Bearer <sidecar-token>`` (the monitor's Secret
``{monitor}-kubedrift-token``). Behind a load-balanced Service a client cannot tell which Pod
served a request, so the operator sends the labels to every ready sidecar of the monitor at once
(header ``X-Kubedrift-Fanout: 1``, so that replicas that never saw an id do not count it as
unknown) and merges the answers per id, best outcome first::

    joined > duplicate > expired > invalid > unknown

A label is joined when any sidecar joined it, duplicate when one had joined it before, and so
on; unknown only when no sidecar knows the id. The answer is the sidecar's shape plus
``"sidecars": {"desired", "reporting"}``. Items the sidecar would call invalid (no string or
integer ``id``, no ``label``) are answered invalid here and not forwarded.

The sidecars are looked up the way an evaluation round finds them (the monitor, its Secret, the
target Deployment's Pods, and while a shadow or canary trial runs the Pods of the candidate's
Deployment ``{deployment}-kubedrift-candidate`` too, so both models' sidecars join the labels of
the requests they answered) and the answer is kept for two seconds (:class:`MonitorLookup`), so
labels posted one by one do not cost four API reads each.
Status codes: 400 malformed body (nothing forwarded), 401 wrong token, 404 unknown monitor,
413 too many labels, 503 no token Secret yet, no ready sidecar, none answered, or the API
server could not be read.
"""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import json
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from kubedrift.api.spec import SpecError, parse_spec
from kubedrift.bearer import bearer_matches
from kubedrift.controller.client import ApiError, KubeClient, apps, core, monitor_path
from kubedrift.controller.collector import (
    collector_name,
    inference_service_path,
    sidecar_workload_path,
)
from kubedrift.controller.collector_sharing import collector_holder
from kubedrift.controller.live_trial import candidate_name
from kubedrift.controller.names import SIDECAR_TOKEN_KEY, MonitorRef
from kubedrift.controller.observation import Sidecar, call_sidecar, ready_sidecars
from kubedrift.controller.retraining import owned_by
from kubedrift.wire import (
    FANOUT_HEADER,
    FEEDBACK_PATH,
    MAX_FEEDBACK_ITEMS,
    OPERATOR_FEEDBACK_ROUTE,
    OUTCOMES,
    Outcome,
    feedback_id,
)

#: Seconds a monitor's token and sidecars are kept between feedback calls (``MonitorLookup``).
LOOKUP_TTL = 2.0
#: Monitors whose lookup is kept at most (the least recently looked up are dropped first).
LOOKUP_CAPACITY = 4096
#: Largest feedback body accepted (as the sidecar's admin port).
MAX_BODY_BYTES = 16 << 20
#: Merge order: the first outcome any sidecar gave, in this order, is the label's outcome.
PRECEDENCE: tuple[Outcome, ...] = ("joined", "duplicate", "expired", "invalid", "unknown")
_RANK = {outcome: rank for rank, outcome in enumerate(PRECEDENCE)}


class FeedbackError(Exception):
    """A request the endpoint answers with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_feedback(body: bytes) -> list[Any]:
    """The items of a feedback body; :class:`FeedbackError` (400, 413) for what the sidecar
    would refuse and for a body that is neither an object nor a list."""
    try:
        document: Any = json.loads(body)
    except ValueError:
        raise FeedbackError(400, "body is not JSON") from None
    if isinstance(document, dict):
        return [document]
    if not isinstance(document, list):
        raise FeedbackError(400, 'body must be {"id", "label"} or a list of them')
    if len(document) > MAX_FEEDBACK_ITEMS:
        raise FeedbackError(413, f"at most {MAX_FEEDBACK_ITEMS} labels per call")
    return document


def merge_answers(items: Sequence[Any], answers: Sequence[Any]) -> dict[str, Any]:
    """Merge the sidecars' answers to the same ``items`` (``None`` or malformed answers do not
    count); returns the counts per outcome, ``rejected`` (``{"id", "outcome"}`` of every label
    not joined, in request order) and how many sidecars answered as ``reporting``.

    A sidecar lists only the labels it did not join, so for an id sent ``n`` times its outcomes
    are the listed ones plus ``joined`` for the rest; the i-th best outcome of the id is the
    best of the sidecars' i-th best, and the id's first occurrence gets the best one.
    """
    sent = Counter(key for key in map(feedback_id, items) if key is not None)
    unknown = _RANK["unknown"]
    best = {key: [unknown] * n for key, n in sent.items()}
    reporting = 0
    for answer in answers:
        listed = _rejected(answer)
        if listed is None:
            continue
        reporting += 1
        for key, n in sent.items():
            mine = sorted(listed.get(key, [])[:n])
            mine = [_RANK["joined"]] * (n - len(mine)) + mine
            best[key] = [min(a, b) for a, b in zip(best[key], mine, strict=True)]
    counts: dict[str, Any] = dict.fromkeys(OUTCOMES, 0)
    rejected: list[dict[str, str]] = []
    taken: Counter[str] = Counter()
    for item in items:
        valid = feedback_id(item)
        if valid is None:
            outcome = "invalid"
            key = str(item.get("id") if isinstance(item, Mapping) else None)
        else:
            key = valid
            outcome = PRECEDENCE[best[key][taken[key]]]
            taken[key] += 1
        counts[outcome] += 1
        if outcome != "joined":
            rejected.append({"id": key, "outcome": outcome})
    return {**counts, "rejected": rejected, "reporting": reporting}


def _rejected(answer: Any) -> dict[str, list[int]] | None:
    """A sidecar's rejected outcomes (ranks) by id; ``None`` when ``answer`` is not a feedback
    answer."""
    if not isinstance(answer, Mapping) or not isinstance(answer.get("rejected"), list):
        return None
    listed: dict[str, list[int]] = {}
    for entry in answer["rejected"]:
        if isinstance(entry, Mapping) and entry.get("outcome") in _RANK:
            listed.setdefault(str(entry.get("id")), []).append(_RANK[entry["outcome"]])
    return listed


async def fan_out(
    session: aiohttp.ClientSession,
    targets: Sequence[Sidecar],
    items: Sequence[Any],
    token: str,
    timeout: float,
) -> list[Any]:
    """``POST /v1/feedback`` with ``items`` to every sidecar at once; ``None`` per silent one."""
    return list(
        await asyncio.gather(
            *(
                call_sidecar(
                    session,
                    t.url + FEEDBACK_PATH,
                    token,
                    timeout,
                    document=items,
                    headers={FANOUT_HEADER: "1"},
                )
                for t in targets
            )
        )
    )


@dataclass(frozen=True)
class Target:
    """What a feedback call needs to know about its monitor: the token and the ready sidecars."""

    token: str | None
    sidecars: list[Sidecar]


class MonitorLookup:
    """Finds a monitor's token and ready sidecars through the API server (four reads: the
    monitor, its Secret, the target Deployment and its Pods).

    The answer is kept ``ttl`` seconds per monitor (also "no such monitor"), and concurrent
    calls for one monitor share one lookup, so a client posting labels one by one costs the API
    server at most four reads per monitor and ``ttl``, not four per call. A Pod that became
    ready within the last ``ttl`` seconds gets labels from the next lookup on. ``namespaces``
    are the operator's ``--namespace`` names or patterns (``None``: all); a monitor elsewhere
    is not served, so it is unknown here.
    """

    def __init__(
        self,
        client: KubeClient,
        namespaces: tuple[str, ...] | None = None,
        *,
        ttl: float = LOOKUP_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.namespaces = namespaces
        self.ttl = ttl
        self.clock = clock
        self._known: OrderedDict[tuple[str, str], tuple[float, Target | None]] = OrderedDict()
        self._pending: dict[tuple[str, str], asyncio.Future[Target | None]] = {}

    def serves(self, namespace: str) -> bool:
        return self.namespaces is None or any(
            fnmatch.fnmatchcase(namespace, pattern) for pattern in self.namespaces
        )

    async def target(self, namespace: str, name: str) -> Target | None:
        """The monitor's token and ready sidecars; ``None`` when there is no such monitor here."""
        if not self.serves(namespace):
            return None
        key = (namespace, name)
        known = self._known.get(key)
        if known is not None and self.clock() < known[0]:
            return known[1]
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._look_up(namespace, name))
            self._pending[key] = pending
            pending.add_done_callback(lambda done: self._settled(key, done))
        found = await asyncio.shield(pending)
        self._remember(key, found)
        return found

    def _settled(self, key: tuple[str, str], done: asyncio.Future[Target | None]) -> None:
        self._pending.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: every waiter may have gone (clients hung up)

    def _remember(self, key: tuple[str, str], found: Target | None) -> None:
        self._known[key] = (self.clock() + self.ttl, found)
        self._known.move_to_end(key)
        while len(self._known) > LOOKUP_CAPACITY:
            self._known.popitem(last=False)

    async def _look_up(self, namespace: str, name: str) -> Target | None:
        monitor: Mapping[str, Any] | None = await self.client.get(monitor_path(namespace, name))
        if monitor is None:
            return None
        return Target(await self._token(monitor), await self._sidecars(monitor))

    async def _token(self, monitor: Mapping[str, Any]) -> str | None:
        """The ``sidecar-token`` of the monitor's Secret, ``None`` while there is none."""
        metadata = monitor["metadata"]
        ref = MonitorRef(metadata["namespace"], metadata["name"], metadata["uid"])
        secret = await self.client.get(core(ref.namespace, "secrets", ref.token_secret))
        value = ((secret or {}).get("data") or {}).get(SIDECAR_TOKEN_KEY)
        return base64.b64decode(value).decode() if value else None

    async def _sidecars(self, monitor: Mapping[str, Any]) -> list[Sidecar]:
        """The ready sidecars of the monitor's target (none when its spec or target is gone)."""
        try:
            spec = parse_spec(monitor.get("spec") or {})
        except SpecError:
            return []
        metadata = monitor["metadata"]
        namespace = metadata["namespace"]
        ref = MonitorRef(namespace, metadata["name"], metadata["uid"])
        path = sidecar_workload_path(ref, spec)
        if spec.target.inference_service is not None:  # a shared collector is the first's
            isvc = await self.client.get(
                inference_service_path(namespace, spec.target.inference_service)
            )
            holder = collector_holder(isvc or {})
            if holder is not None:
                path = apps(
                    namespace, "deployments", collector_name(MonitorRef(namespace, holder, ""))
                )
        deployment = await self.client.get(path)
        if deployment is None:
            return []
        admin = spec.capture.admin_port
        found = await ready_sidecars(self.client, namespace, deployment, admin)
        trials = spec.retraining is not None and spec.retraining.rollout.strategy in (
            "shadow",
            "canary",
        )
        if trials and spec.target.inference_service is None and spec.target.kind == "Deployment":
            name = candidate_name(deployment["metadata"]["name"])
            candidate = await self.client.get(apps(namespace, "deployments", name))
            if candidate is not None and owned_by(candidate, ref):
                found += await ready_sidecars(self.client, namespace, candidate, admin)
        return found


@dataclass(frozen=True)
class FeedbackService:
    """What the endpoint needs from the operator: the lookup, the HTTP session to the sidecars,
    the sidecar timeout and a recorder of merged outcomes (the metric)."""

    lookup: MonitorLookup
    http: aiohttp.ClientSession
    timeout: float
    record: Callable[[str, str, Mapping[str, int]], None]


def add_routes(app: web.Application, service: FeedbackService) -> None:
    """Mount ``POST /v1/feedback/{namespace}/{name}`` on the operator's application."""

    async def feedback(request: web.Request) -> web.Response:
        try:
            return web.json_response(await _answer(service, request))
        except (ApiError, aiohttp.ClientError, TimeoutError) as error:
            message = f"cannot read the monitor from the API server: {error}"
            return web.json_response({"error": message}, status=503)
        except FeedbackError as error:
            headers = {"WWW-Authenticate": 'Bearer realm="kubedrift-feedback"'}
            return web.json_response(
                {"error": error.message},
                status=error.status,
                headers=headers if error.status == 401 else None,
            )

    app.router.add_post(OPERATOR_FEEDBACK_ROUTE, feedback)


async def _answer(service: FeedbackService, request: web.Request) -> dict[str, Any]:
    namespace, name = request.match_info["namespace"], request.match_info["name"]
    target = await service.lookup.target(namespace, name)
    if target is None:
        raise FeedbackError(404, f"no monitor {namespace}/{name}")
    token = target.token
    if token is None:
        raise FeedbackError(
            503, f"monitor {namespace}/{name} has no token Secret yet (its target is not ready)"
        )
    sent = request.headers.get("Authorization", "")
    if not bearer_matches(sent, token):
        raise FeedbackError(401, "missing or wrong bearer token")
    items = parse_feedback(await request.read())
    forwarded = [item for item in items if feedback_id(item) is not None]
    sidecars = target.sidecars
    if forwarded and not sidecars:
        raise FeedbackError(503, f"monitor {namespace}/{name} has no ready sidecar")
    answers = (
        await fan_out(service.http, sidecars, forwarded, token, service.timeout)
        if forwarded
        else []
    )
    merged = merge_answers(items, answers)
    reporting = merged.pop("reporting")
    if forwarded and reporting == 0:
        raise FeedbackError(
            503, f"none of the {len(sidecars)} sidecars of {namespace}/{name} answered"
        )
    service.record(namespace, name, {outcome: merged[outcome] for outcome in OUTCOMES})
    return {**merged, "sidecars": {"desired": len(sidecars), "reporting": reporting}}
