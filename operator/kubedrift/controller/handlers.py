"""The kopf handlers: thin wrappers that hand each ModelMonitor to :mod:`reconcile`.

- a daemon per monitor runs :func:`~kubedrift.controller.reconcile.reconcile` right away and then
  every ``spec.evaluation.interval``; the same loop re-checks a monitor that is not Ready, so it
  recovers when a missing Deployment or ConfigMap appears;
- a spec change wakes the daemon at once (no wait for the interval);
- deletion (behind the operator's finalizer) removes the sidecar and everything the monitor
  added.

:func:`register` puts them on an explicit registry, and :func:`configure` sets kopf's settings,
each choice commented, so ``kubedrift operator`` is the only place that assembles an operator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
import kopf

from kubedrift.api.fields import Duration
from kubedrift.controller.client import ApiError
from kubedrift.controller.collector_preparation import restore_logger, teardown_collector
from kubedrift.controller.conflicts import ConflictError, SupersededError
from kubedrift.controller.context import OperatorContext
from kubedrift.controller.names import GROUP, PLURAL, VERSION
from kubedrift.controller.preparation import teardown
from kubedrift.controller.reconcile import monitor_ref, reconcile

FINALIZER = "kubedrift.io/finalizer"
#: Evaluation interval when the spec's cannot be read (the CRD default).
DEFAULT_INTERVAL = 30.0
#: Seconds after which the API server ends each watch request (``--watch-timeout``).
WATCH_TIMEOUT = 300


def configure(
    settings: kopf.OperatorSettings,
    *,
    peering: str | None,
    reporter: str,
    watch_timeout: int = WATCH_TIMEOUT,
) -> None:
    """kopf settings for this operator."""
    # The API server ends a watch after server_timeout; the client gives up a little later, so a
    # stream that went silent (a dead connection, a proxy) is noticed and re-established. kopf
    # resumes a stream from the last resourceVersion it saw; when the API server answers 410 Gone
    # (that version was compacted away, or fell out of the watch cache), kopf lists again and
    # watches from the list's version: nothing is lost, no setting needed. (Whole seconds: kopf
    # sends the value as the timeoutSeconds query parameter, an integer.)
    settings.watching.server_timeout = watch_timeout
    settings.watching.client_timeout = watch_timeout + 30
    settings.watching.connect_timeout = 10
    settings.networking.request_timeout = 60
    # kopf turns log records into Events; only warnings and errors are worth an Event. Transition
    # Events (DriftDetected...) are posted by the operator itself.
    settings.posting.level = logging.WARNING
    settings.posting.reporting_component = reporter
    # Our own names for the finalizer and kopf's bookkeeping annotations (not status: the CRD's
    # structural schema would prune kopf's status fields).
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    # One replica runs standalone; more replicas need peering so only one is active.
    if peering:
        settings.peering.name = peering
        settings.peering.mandatory = True
        settings.peering.standalone = False
    else:
        settings.peering.standalone = True
    # Stopping a daemon (deletion, shutdown) waits this long for the round in progress.
    settings.background.cancellation_polling = 5


def register(registry: kopf.OperatorRegistry) -> None:
    """Register the ModelMonitor handlers on ``registry``."""

    # Every handler is a coroutine: kopf runs plain functions on a thread pool, and each thread
    # the process starts can grow its own malloc arena (see docs/operator.md, "Scale").
    @kopf.on.login(registry=registry)
    async def login(memo: kopf.Memo, **_: Any) -> kopf.ConnectionInfo:
        # kopf connects with the very credentials of the operator's own client.
        ctx: OperatorContext = memo["ctx"]
        return ctx.client.connection_info()

    @kopf.daemon(GROUP, VERSION, PLURAL, registry=registry, cancellation_timeout=30, id="monitor")
    async def monitor_loop(
        body: kopf.Body,
        memo: kopf.Memo,
        stopped: kopf.DaemonStopped,
        logger: kopf.Logger,
        **_: Any,
    ) -> None:
        ctx: OperatorContext = memo["ctx"]
        wake = memo.setdefault("wake", asyncio.Event())
        loop = asyncio.get_running_loop()
        while not stopped:
            wake.clear()
            started = loop.time()
            try:
                # Only the phase outlives the round: the status dict is not kept while sleeping.
                phase = (await reconcile(ctx, body)).get("phase")
                logger.debug("evaluated: phase %s", phase)
            except SupersededError as error:
                # Not a failure (no Warning Event): the status changed under this round.
                logger.info("status not written, recomputed next round: %s", error)
            except (ApiError, ConflictError, aiohttp.ClientError, TimeoutError) as error:
                logger.warning("evaluation round failed, retrying next round: %s", error)
            # A fixed cadence: the round's own duration does not push the next one back.
            elapsed = loop.time() - started
            await _pause(stopped, wake, max(0.0, evaluation_interval(body) - elapsed))

    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry, id="forget-managed-fields")
    async def forget_managed_fields(event: kopf.RawEvent, **_: Any) -> None:
        # kopf keeps each monitor's latest body for its daemon until the next watch event. Its
        # metadata.managedFields (the field owners of spec, status and annotations: about half
        # the body, more as the status lists more features) is read neither by kopf nor by the
        # operator, so it is dropped from that body (see docs/operator.md, "Scale").
        forget_field_owners(event)

    @kopf.on.update(GROUP, VERSION, PLURAL, registry=registry, field="spec", id="wake")
    async def spec_changed(body: kopf.Body, memo: kopf.Memo, old: Any, new: Any, **_: Any) -> None:
        before = moved_from_inference_service(old, new)
        if before is not None:  # the monitor moved on: the first one gets its logger back
            try:
                await restore_logger(memo["ctx"], monitor_ref(body), before)
            except (ApiError, ConflictError) as error:
                raise kopf.TemporaryError(
                    f"restoring the logger failed: {error}", delay=5
                ) from error
        wake = memo.get("wake")
        if isinstance(wake, asyncio.Event):
            wake.set()

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, id="teardown")
    async def remove(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
        ctx: OperatorContext = memo["ctx"]
        try:
            spec = body.get("spec") or {}
            isvc = (spec.get("target") or {}).get("inferenceService")
            if isvc:
                await teardown_collector(ctx, monitor_ref(body), str(isvc))
            await teardown(ctx, monitor_ref(body), spec)
        except (ApiError, ConflictError) as error:
            raise kopf.TemporaryError(f"cleanup failed: {error}", delay=5) from error


def moved_from_inference_service(old: Any, new: Any) -> str | None:
    """The InferenceService a spec change left (``spec.target.inferenceService`` before, another
    or none after), or ``None``.

    >>> moved_from_inference_service({"target": {"inferenceService": "a"}},
    ...                              {"target": {"inferenceService": "b"}})
    'a'
    >>> moved_from_inference_service({"target": {"deployment": "a"}}, {"target": {}}) is None
    True
    """
    before = ((old or {}).get("target") or {}).get("inferenceService")
    after = ((new or {}).get("target") or {}).get("inferenceService")
    return str(before) if before and before != after else None


def forget_field_owners(event: Mapping[str, object]) -> None:
    """Drop ``metadata.managedFields`` from a raw watch event's object (in place)."""
    found = event.get("object")
    metadata = found.get("metadata") if isinstance(found, dict) else None
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)


def evaluation_interval(body: Mapping[str, Any]) -> float:
    """``spec.evaluation.interval`` in seconds, or the CRD default when it cannot be read."""
    text = ((body.get("spec") or {}).get("evaluation") or {}).get("interval")
    try:
        return Duration(text).seconds if text else DEFAULT_INTERVAL
    except ValueError:
        return DEFAULT_INTERVAL


async def _pause(stopped: kopf.DaemonStopped, wake: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` or until the daemon is stopped or woken, whichever comes first."""
    sleeper = asyncio.ensure_future(stopped.wait(seconds))
    waker = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, waker):
            task.cancel()
