"""Make a monitor's target ready to be evaluated, or say precisely why it cannot be.

:func:`prepare` checks what the CRD schema cannot (the Deployment, the baseline ConfigMap and
its JSON, the Service), renders the sidecar ConfigMap, keeps the token Secret, and patches the
Deployment (sidecar, config hash, rolled-out model version) in one strategic merge patch when
anything is missing. Both that patch and the Service's are computed from the object as read, so
they are sent with its resourceVersion and recomputed after a conflict
(:meth:`~kubedrift.controller.client.KubeClient.update`). Every failure is a
:class:`NotReadyError` with a CamelCase reason, which becomes ``Ready=False``; the next
evaluation round tries again, so the monitor recovers by itself once the missing object appears.
:func:`teardown` removes what :func:`prepare` added. Monitors of one model each share their
workload's sidecar (``kubedrift.controller.sharing``): the last one removes it.
"""

from __future__ import annotations

import base64
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller.baselines import text_digest
from kubedrift.controller.client import apps, core
from kubedrift.controller.context import OperatorContext
from kubedrift.controller.injection import (
    InjectionError,
    plan_injection,
    plan_service_restore,
    plan_service_takeover,
)
from kubedrift.controller.names import (
    ADOPTED_BASELINE_KEY,
    DATASET_TOKEN_KEY,
    MONITOR_ANNOTATION,
    SIDECAR_TOKEN_KEY,
    MonitorRef,
    workload_resource,
)
from kubedrift.controller.rollout import plan_version_rollout
from kubedrift.controller.sharing import (
    ROOT,
    members_of,
    plan_member_injection,
    plan_member_removal,
)
from kubedrift.controller.sidecar_config import (
    build_config_map,
    config_hash,
    render_config_map_data,
    shares_sidecar,
)
from kubedrift.stats.baseline import Baseline


class NotReadyError(Exception):
    """The monitor cannot work right now; ``reason`` and the message go into ``Ready=False``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Prepared:
    """A target that carries the sidecar, with what the evaluation needs."""

    deployment: Mapping[str, Any]
    baseline: Baseline
    baseline_source: str
    baseline_hash: str
    tokens: Mapping[str, str]
    injected: bool

    @classmethod
    def of(
        cls,
        deployment: Mapping[str, Any],
        loaded: tuple[str, str, Baseline],
        tokens: Mapping[str, str],
        *,
        injected: bool,
    ) -> Prepared:
        """The prepared target from what :func:`load_baseline` returned (an injected sidecar's
        workload or a collector's Deployment alike)."""
        source, text, baseline = loaded
        return cls(
            deployment=deployment,
            baseline=baseline,
            baseline_source=source,
            baseline_hash=text_digest(text),
            tokens=tokens,
            injected=injected,
        )


async def prepare(
    ctx: OperatorContext,
    monitor: MonitorRef,
    spec: ModelMonitorSpec,
    status: Mapping[str, Any],
) -> Prepared:
    """Validate, render and inject; see the module docstring."""
    path = apps(monitor.namespace, workload_resource(spec.target.kind), str(spec.target.deployment))
    deployment = await ctx.client.get(path)
    if deployment is None:
        raise _deployment_not_found(monitor, spec)
    loaded = await load_baseline(ctx, monitor, spec, status)
    shared = shares_sidecar(spec)
    # A monitor of one model alone on its workload (or the member that was) keeps its files at
    # the root, as an unshared sidecar: its Pods do not roll when it becomes shareable.
    root = shared and files_at_root(deployment, monitor)
    data = render_config_map_data(spec, loaded[1], monitor=None if root else monitor.name)
    tokens, digest = await keep_sidecar_files(ctx, monitor, data)
    version = (status.get("retraining") or {}).get("modelVersion")
    injected = False

    def plan(current: Mapping[str, Any]) -> dict[str, Any] | None:
        nonlocal injected
        if shared and files_at_root(current, monitor) != root:
            raise NotReadyError(
                "SidecarMembersChanged",
                "another monitor joined or left the shared sidecar meanwhile; retrying",
            )
        try:
            inject = plan_member_injection if shared else plan_injection
            patch = inject(current, spec, monitor, ctx.sidecar, digest)
            rollout = plan_version_rollout(current, spec, version) if version else None
        except InjectionError as error:
            raise NotReadyError(error.reason, str(error)) from None
        annotations = current["metadata"].get("annotations") or {}
        joined = monitor.name not in members_of(current)
        injected = patch is not None and (
            joined if shared else MONITOR_ANNOTATION not in annotations
        )
        return merge_patches(patch, rollout)

    written = await ctx.client.update(path, plan, write="inject", current=deployment)
    if written is None:
        raise _deployment_not_found(monitor, spec)
    if spec.capture.mode == "proxy" and spec.target.service is not None:
        await _take_over_service(ctx, monitor, spec, spec.target.service)
    return Prepared.of(written, loaded, tokens, injected=injected)


def files_at_root(workload: Mapping[str, Any], monitor: MonitorRef) -> bool:
    """Whether a monitor of one model renders its files at the root of ``/etc/kubedrift``: it
    is alone on the workload, or the member marked ``root`` (``kubedrift.controller.sharing``)."""
    members = members_of(workload)
    others = set(members) - {monitor.name}
    return not others or bool(members.get(monitor.name, {}).get(ROOT))


async def keep_sidecar_files(
    ctx: OperatorContext, monitor: MonitorRef, data: Mapping[str, str]
) -> tuple[dict[str, str], str]:
    """Write the sidecar's ConfigMap (``data``) and keep the token Secret, for an injected
    sidecar and a collector alike; returns the tokens and the ConfigMap's hash.

    Both are written once and then remembered; every ``recheck_interval`` they are read
    again, so one deleted or edited by hand comes back.
    """
    now = ctx.clock()
    recheck = now - ctx.checked.get(monitor.uid, -math.inf) >= ctx.recheck_interval
    tokens = await ensure_tokens(ctx, monitor, recheck=recheck)
    digest = config_hash(data)
    if recheck or ctx.applied.get(monitor.uid) != digest:
        await ctx.client.apply_config_map(build_config_map(monitor, data))
        ctx.applied[monitor.uid] = digest
    if recheck:
        ctx.checked[monitor.uid] = now
    return tokens, digest


def _deployment_not_found(monitor: MonitorRef, spec: ModelMonitorSpec) -> NotReadyError:
    kind = spec.target.kind
    return NotReadyError(
        f"{kind}NotFound",
        f"{kind} {spec.target.deployment} not found in namespace {monitor.namespace}",
    )


async def load_baseline(
    ctx: OperatorContext,
    monitor: MonitorRef,
    spec: ModelMonitorSpec,
    status: Mapping[str, Any],
) -> tuple[str, str, Baseline]:
    """The baseline in force: an adopted one (after a retraining) or the spec's ConfigMap key.

    Returns the ConfigMap name, the JSON text and the parsed baseline (cached by content).
    """
    ref_name, key = spec.baseline.config_map_ref.name, spec.baseline.config_map_ref.key
    adopted = (status.get("baseline") or {}).get("configMap")
    if adopted == monitor.adopted_baseline_config_map:
        found = await ctx.client.get(core(monitor.namespace, "configmaps", adopted))
        if found is not None and ADOPTED_BASELINE_KEY in (found.get("data") or {}):
            ref_name, key = adopted, ADOPTED_BASELINE_KEY
    config_map = await ctx.client.get(core(monitor.namespace, "configmaps", ref_name))
    if config_map is None:
        raise NotReadyError("BaselineNotFound", f"baseline ConfigMap {ref_name} not found")
    text = (config_map.get("data") or {}).get(key)
    if text is None:
        raise NotReadyError("BaselineKeyMissing", f"baseline ConfigMap {ref_name} has no key {key}")
    return ref_name, text, parse_baseline(ctx, (monitor.namespace, ref_name, key), text)


def parse_baseline(ctx: OperatorContext, source: tuple[str, str, str], text: str) -> Baseline:
    """Parse (or reuse, see :mod:`~kubedrift.controller.baselines`) the baseline read from
    ``source`` (namespace, ConfigMap, key); raises :class:`NotReadyError` (BaselineInvalid)."""
    try:
        return ctx.baselines.parse(text)
    except (ValueError, KeyError, TypeError) as error:
        raise NotReadyError(
            "BaselineInvalid", f"baseline in ConfigMap {source[1]} key {source[2]}: {error}"
        ) from None


async def ensure_tokens(
    ctx: OperatorContext, monitor: MonitorRef, *, recheck: bool = False
) -> dict[str, str]:
    """The monitor's Secret with the sidecar and dataset tokens, created on first use and
    remembered afterwards (tokens are never rotated by the operator).

    ``recheck`` reads the Secret even when its tokens are remembered; one deleted by hand is
    written again with those tokens, which the running sidecars still hold.
    """
    known = ctx.tokens.get(monitor.uid)
    if known is not None and not recheck:
        return known
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": monitor.token_secret,
            "namespace": monitor.namespace,
            "labels": monitor.labels(),
            "ownerReferences": [monitor.owner_reference()],
        },
        "stringData": known
        or {
            SIDECAR_TOKEN_KEY: secrets.token_urlsafe(32),
            DATASET_TOKEN_KEY: secrets.token_urlsafe(32),
        },
    }
    secret = await ctx.client.get(core(monitor.namespace, "secrets", monitor.token_secret))
    if secret is None:
        secret, _ = await ctx.client.create(core(monitor.namespace, "secrets"), body)
    data = secret.get("data") or {}
    tokens = {key: base64.b64decode(value).decode() for key, value in data.items()}
    ctx.tokens[monitor.uid] = tokens
    return tokens


async def teardown(ctx: OperatorContext, monitor: MonitorRef, raw_spec: Mapping[str, Any]) -> None:
    """Remove the sidecar and restore the Service; delete the objects the monitor owns."""
    target = raw_spec.get("target") or {}
    name = target.get("deployment")
    if name:
        await ctx.client.update(
            apps(monitor.namespace, workload_resource(str(target.get("kind"))), name),
            lambda deployment: plan_member_removal(deployment, monitor),
            write="remove",
        )
    if target.get("service"):
        await ctx.client.update(
            core(monitor.namespace, "services", target["service"]),
            plan_service_restore,
            write="restore",
        )
    for path in (
        core(monitor.namespace, "configmaps", monitor.sidecar_config_map),
        core(monitor.namespace, "configmaps", monitor.adopted_baseline_config_map),
        core(monitor.namespace, "secrets", monitor.token_secret),
    ):
        await ctx.client.delete(path)
    ctx.datasets.unregister(monitor.namespace, monitor.name)
    ctx.tokens.pop(monitor.uid, None)
    ctx.applied.pop(monitor.uid, None)
    ctx.checked.pop(monitor.uid, None)
    ctx.engines.pop(monitor.uid, None)
    ctx.engines.pop(f"{monitor.uid}/candidate", None)  # a live trial's (trials.py)
    ctx.segment_engines.pop(monitor.uid, None)
    ctx.events.forget(monitor)
    ctx.metrics.forget(monitor.namespace, monitor.name)


def merge_patches(
    first: Mapping[str, Any] | None, second: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """Combine two strategic merge patches: mappings merge, lists (keyed by name) concatenate."""
    if first is None or second is None:
        chosen = first if second is None else second
        return None if chosen is None else dict(chosen)
    merged: dict[str, Any] = dict(first)
    for key, value in second.items():
        mine = merged.get(key)
        if isinstance(mine, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_patches(mine, value)
        elif isinstance(mine, list) and isinstance(value, list):
            merged[key] = mine + value
        else:
            merged[key] = value
    return merged


async def _take_over_service(
    ctx: OperatorContext, monitor: MonitorRef, spec: ModelMonitorSpec, name: str
) -> None:
    path = core(monitor.namespace, "services", name)
    written = await ctx.client.update(
        path, lambda service: plan_service_takeover(service, spec), write="takeover"
    )
    if written is None:
        raise NotReadyError("ServiceNotFound", f"Service {name} not found")
