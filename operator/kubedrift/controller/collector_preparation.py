"""Make a monitor of a KServe InferenceService ready, and undo it: the collector's I/O.

:func:`prepare_collector` is :func:`~kubedrift.controller.preparation.prepare` for
``spec.target.inferenceService`` (see :mod:`~kubedrift.controller.collector`): it checks that the
InferenceService exists, renders the sidecar ConfigMap (the monitor's baseline and config, mirror
mode) and keeps the token Secret as for an injected sidecar, creates or updates the collector
Deployment and Service, and points the predictor's logger at the collector. The
:class:`~kubedrift.controller.preparation.Prepared` it returns names the collector Deployment, so
the evaluation pulls ``GET /v1/window`` from the collector's Pods. Failures are
:class:`~kubedrift.controller.preparation.NotReadyError`, as for a Deployment.
:func:`teardown_collector` restores the logger and deletes the collector.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller.client import MERGE, apps, core
from kubedrift.controller.collector import (
    build_collector_deployment,
    build_collector_service,
    check_collector_name,
    collector_name,
    collector_spec,
    collector_url,
    inference_service_path,
    plan_collector_update,
    plan_logger,
    plan_logger_restore,
)
from kubedrift.controller.context import OperatorContext
from kubedrift.controller.injection import InjectionError
from kubedrift.controller.names import MonitorRef
from kubedrift.controller.preparation import (
    NotReadyError,
    Prepared,
    keep_sidecar_files,
    load_baseline,
)
from kubedrift.controller.sidecar_config import render_config_map_data


async def prepare_collector(
    ctx: OperatorContext,
    monitor: MonitorRef,
    spec: ModelMonitorSpec,
    status: Mapping[str, Any],
) -> Prepared:
    """Validate, render, run the collector and take the logger; see the module docstring."""
    name = str(spec.target.inference_service)
    isvc_path = inference_service_path(monitor.namespace, name)
    isvc = await ctx.client.get(isvc_path)
    if isvc is None:
        raise _not_found(monitor, name)
    try:
        check_collector_name(monitor)
        plan_logger(isvc, monitor, collector_url(monitor, spec))  # held by another monitor?
    except InjectionError as error:
        raise NotReadyError(error.reason, str(error)) from None
    loaded = await load_baseline(ctx, monitor, spec, status)
    data = render_config_map_data(collector_spec(spec), loaded[1])
    tokens, digest = await keep_sidecar_files(ctx, monitor, data)
    await _apply(
        ctx,
        apps(monitor.namespace, "deployments"),
        build_collector_deployment(monitor, spec, ctx.sidecar, digest),
    )
    await _apply(ctx, core(monitor.namespace, "services"), build_collector_service(monitor, spec))
    deployment = await ctx.client.get(
        apps(monitor.namespace, "deployments", collector_name(monitor))
    )
    taken = False

    def plan(current: Mapping[str, Any]) -> dict[str, Any] | None:
        nonlocal taken
        try:
            patch = plan_logger(current, monitor, collector_url(monitor, spec))
        except InjectionError as error:
            raise NotReadyError(error.reason, str(error)) from None
        taken = patch is not None and "metadata" in patch
        return patch

    written = await ctx.client.update(
        isvc_path, plan, write="logger", current=isvc, content_type=MERGE
    )
    if written is None:
        raise _not_found(monitor, name)
    if deployment is None:  # deleted between the apply and the read: next round recreates it
        raise NotReadyError("CollectorNotFound", f"collector {collector_name(monitor)} vanished")
    return Prepared.of(deployment, loaded, tokens, injected=taken)


async def teardown_collector(ctx: OperatorContext, monitor: MonitorRef, name: str) -> None:
    """Restore the InferenceService's logger; delete the collector Deployment and Service
    (they are owned by the monitor, so the garbage collector would too, later)."""
    await restore_logger(ctx, monitor, name)
    await ctx.client.delete(apps(monitor.namespace, "deployments", collector_name(monitor)))
    await ctx.client.delete(core(monitor.namespace, "services", collector_name(monitor)))


async def restore_logger(ctx: OperatorContext, monitor: MonitorRef, name: str) -> None:
    """Give InferenceService ``name`` its logger back (nothing when the monitor does not hold
    it): on deletion, and when the monitor moves to another InferenceService."""

    def restore(isvc: Mapping[str, Any]) -> dict[str, Any] | None:
        return plan_logger_restore(isvc, monitor)

    await ctx.client.update(
        inference_service_path(monitor.namespace, name),
        restore,
        write="restore-logger",
        content_type=MERGE,
    )


async def _apply(ctx: OperatorContext, collection: str, body: Mapping[str, Any]) -> None:
    """Create ``body`` in ``collection``, or patch the existing object towards it."""
    path = f"{collection}/{body['metadata']['name']}"
    found = await ctx.client.get(path)
    if found is None:
        found, created = await ctx.client.create(collection, body)
        if created:
            return
    await ctx.client.update(
        path, lambda current: plan_collector_update(current, body), write="collector", current=found
    )


def _not_found(monitor: MonitorRef, name: str) -> NotReadyError:
    return NotReadyError(
        "InferenceServiceNotFound",
        f"InferenceService {name} not found in namespace {monitor.namespace}",
    )
