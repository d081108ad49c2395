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
from kubedrift.controller.collector_sharing import (
    collector_holder,
    member_owners,
    plan_collector_members,
    served_inference_service,
    shared_collector,
    shared_collector_service,
)
from kubedrift.controller.context import OperatorContext
from kubedrift.controller.injection import InjectionError, named, pod_spec
from kubedrift.controller.names import (
    CONFIG_HASH_ANNOTATION,
    MEMBERS_ANNOTATION,
    SIDECAR_CONTAINER,
    MonitorRef,
)
from kubedrift.controller.preparation import (
    NotReadyError,
    Prepared,
    keep_sidecar_files,
    load_baseline,
)
from kubedrift.controller.sharing import (
    Members,
    encode_members,
    joined_members,
    members_hash,
    members_of,
    models_volume,
    with_members,
)
from kubedrift.controller.sidecar_config import render_config_map_data, shares_sidecar


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
    holder = collector_holder(isvc)
    creator = (
        monitor
        if holder in (None, monitor.name)
        else MonitorRef(monitor.namespace, str(holder), "")
    )
    try:
        check_collector_name(creator)
        if creator is monitor:
            plan_logger(isvc, monitor, collector_url(monitor, spec))  # held by another monitor?
    except InjectionError as error:
        raise NotReadyError(error.reason, str(error)) from None
    loaded = await load_baseline(ctx, monitor, spec, status)
    shared = shares_sidecar(spec)
    data = render_config_map_data(
        collector_spec(spec), loaded[1], monitor=monitor.name if shared else None
    )
    tokens, digest = await keep_sidecar_files(ctx, monitor, data)
    path = apps(monitor.namespace, "deployments", collector_name(creator))
    joined = False
    if creator is not monitor:  # a collector of its own, made before another took the logger
        await _delete_collector(ctx, monitor, collector_name(monitor))
    if shared:
        joined = await _join(ctx, creator, monitor=monitor, spec=spec, digest=digest, isvc=name)
    else:
        if creator is not monitor:  # plan_logger refused above; kept for the type checker
            raise NotReadyError("TargetAlreadyMonitored", f"{name} is held by {holder}")
        await _apply(
            ctx,
            apps(monitor.namespace, "deployments"),
            build_collector_deployment(monitor, spec, ctx.sidecar, digest),
        )
        await _apply(
            ctx, core(monitor.namespace, "services"), build_collector_service(monitor, spec)
        )
    deployment = await ctx.client.get(path)
    taken = False

    def plan(current: Mapping[str, Any]) -> dict[str, Any] | None:
        nonlocal taken
        if collector_holder(current) not in (None, creator.name):
            raise NotReadyError(
                "TargetAlreadyMonitored",
                f"InferenceService {name} was taken by ModelMonitor {collector_holder(current)}",
            )
        try:
            patch = plan_logger(current, creator, collector_url(creator, spec))
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
        raise NotReadyError("CollectorNotFound", f"collector {collector_name(creator)} vanished")
    return Prepared.of(deployment, loaded, tokens, injected=taken or joined)


async def _join(
    ctx: OperatorContext,
    creator: MonitorRef,
    *,
    monitor: MonitorRef,
    spec: ModelMonitorSpec,
    digest: str,
    isvc: str,
) -> bool:
    """Make ``monitor`` (of one model) a member of the collector named after ``creator``,
    creating it when the monitor is the creator; returns whether the monitor joined now.
    Raises :class:`NotReadyError` when the collector watches every model, the model is
    monitored already, or the sidecar settings differ."""
    collection = apps(monitor.namespace, "deployments")
    path = f"{collection}/{collector_name(creator)}"
    target = f"InferenceService {isvc}"
    joined = False

    def desired(current: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[Any]]:
        nonlocal joined
        found = members_of(current or {})
        served = served_inference_service(current or {})
        if served not in (None, isvc) and set(found) - {monitor.name}:
            raise NotReadyError(
                "TargetAlreadyMonitored",
                f"collector {collector_name(creator)} still serves InferenceService {served} "
                f"for ModelMonitor {', '.join(sorted(set(found) - {monitor.name}))}; "
                "a monitor that created a shared collector can monitor another InferenceService "
                "once the collector's other members are gone",
            )
        if current is not None and not found and creator is not monitor:
            raise NotReadyError(
                "TargetAlreadyMonitored",
                f"{target} is already monitored by ModelMonitor {creator.name} for every "
                "model; a monitor of one model (spec.target.model) can share its collector "
                "only with other monitors of one model each",
            )
        try:
            members = joined_members(found, spec, monitor, digest, target)
        except InjectionError as error:
            raise NotReadyError(error.reason, str(error)) from None
        joined = monitor.name not in found
        owners = member_owners(current, members, monitor)
        return shared_collector(creator, spec, ctx.sidecar, members, owners), owners

    found = await ctx.client.get(path)
    if found is None:
        if creator is not monitor:
            raise NotReadyError(
                "CollectorNotFound", f"collector {collector_name(creator)} of {target} not found"
            )
        body, _ = desired(None)
        found, _ = await ctx.client.create(collection, body)
    owners: list[Any] = []

    def plan(current: Mapping[str, Any]) -> dict[str, Any] | None:
        nonlocal owners
        body, owners = desired(current)
        return plan_collector_members(current, body)

    await ctx.client.update(path, plan, write="collector", current=found, content_type=MERGE)
    service_collection = core(monitor.namespace, "services")
    service = shared_collector_service(creator, spec, owners)
    service_path = f"{service_collection}/{collector_name(creator)}"
    if await ctx.client.get(service_path) is None:
        await ctx.client.create(service_collection, service)
    await ctx.client.update(
        service_path,
        lambda current: plan_collector_members(current, service),
        write="collector",
        content_type=MERGE,
    )
    return joined


async def teardown_collector(ctx: OperatorContext, monitor: MonitorRef, name: str) -> None:
    """Leave the InferenceService's collector: a member of a shared collector is taken out and
    the collector kept for the others; the last one (or a monitor of every model) restores the
    logger and deletes the collector Deployment and Service (they are owned by the monitors, so
    the garbage collector would too, later)."""
    kept = await leave_collector(ctx, monitor, name)
    if kept is not None:
        await _delete_collector(ctx, monitor, kept)


async def restore_logger(ctx: OperatorContext, monitor: MonitorRef, name: str) -> None:
    """Leave InferenceService ``name`` when the monitor moves to another one: its membership
    ends, and the last member gives the InferenceService its logger back (the collector named
    after this monitor stays for the new target; another one is deleted)."""
    kept = await leave_collector(ctx, monitor, name)
    if kept is not None and kept != collector_name(monitor):
        await _delete_collector(ctx, monitor, kept)


async def leave_collector(ctx: OperatorContext, monitor: MonitorRef, name: str) -> str | None:
    """Take ``monitor`` out of InferenceService ``name``'s collector. Returns the name of a
    collector to delete (the monitor was its last member, and the logger is restored), or
    ``None`` when other members keep it (or the InferenceService is gone and the monitor's own
    collector, if any, is to be deleted: its name then)."""
    isvc_path = inference_service_path(monitor.namespace, name)
    isvc = await ctx.client.get(isvc_path)
    holder = collector_holder(isvc or {})
    own = collector_name(monitor)
    if isvc is None or holder is None:
        return own
    creator = MonitorRef(monitor.namespace, holder, "")
    path = apps(monitor.namespace, "deployments", collector_name(creator))
    collector = await ctx.client.get(path)
    members = members_of(collector or {})
    remaining = {k: v for k, v in members.items() if k != monitor.name}
    if monitor.name in members and remaining:
        await _leave(ctx, creator, monitor, path, remaining)
        return None
    if holder != monitor.name and monitor.name not in members:
        return own  # never held this collector (refused, or a monitor of every model elsewhere)

    def restore(current: Mapping[str, Any]) -> dict[str, Any] | None:
        return plan_logger_restore(current, creator)

    await ctx.client.update(isvc_path, restore, write="restore-logger", content_type=MERGE)
    return collector_name(creator)


async def _leave(
    ctx: OperatorContext,
    creator: MonitorRef,
    monitor: MonitorRef,
    path: str,
    remaining: Members,
) -> None:
    """Rebuild the shared collector for ``remaining`` from its current container settings."""
    owners: list[Any] = []

    def plan(current: Mapping[str, Any]) -> dict[str, Any] | None:
        nonlocal owners
        members = {k: v for k, v in members_of(current).items() if k != monitor.name}
        if not members:
            return None
        owners = member_owners(current, members, None)
        container = named(pod_spec(current).get("containers"), SIDECAR_CONTAINER) or {}
        spec = {
            "template": {
                "metadata": {"annotations": {CONFIG_HASH_ANNOTATION: members_hash(members)}},
                "spec": {
                    "containers": [with_members(container, sorted(members))],
                    "volumes": [models_volume(sorted(members))],
                },
            }
        }
        wanted = {
            "metadata": {
                "labels": (current.get("metadata") or {}).get("labels") or {},
                "annotations": {MEMBERS_ANNOTATION: encode_members(members)},
                "ownerReferences": owners,
            },
            "spec": spec,
        }
        return plan_collector_members(current, wanted)

    await ctx.client.update(path, plan, write="collector", content_type=MERGE)
    service_path = core(monitor.namespace, "services", collector_name(creator))

    def unown(current: Mapping[str, Any]) -> dict[str, Any] | None:
        refs = (current.get("metadata") or {}).get("ownerReferences") or []
        kept = [ref for ref in refs if ref.get("name") in remaining]
        if len(kept) == len(refs):
            return None
        return {"metadata": {"ownerReferences": kept}}

    await ctx.client.update(service_path, unown, write="collector", content_type=MERGE)


async def _delete_collector(ctx: OperatorContext, monitor: MonitorRef, name: str) -> None:
    """Delete collector ``name`` (Deployment and Service) when it is there."""
    for path in (
        apps(monitor.namespace, "deployments", name),
        core(monitor.namespace, "services", name),
    ):
        if await ctx.client.get(path) is not None:
            await ctx.client.delete(path)


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
