"""The retraining loop's I/O: start a Job, follow it, adopt its result.

State lives in ``status.retraining`` only (count, lastJob, lastResult, lastTrigger,
lastStartTime, modelVersion), so an operator restart resumes exactly where it stopped:

- :func:`start` creates ``{monitor}-retrain-{count+1}``; a 409 means an earlier attempt (a crash
  before the status patch) created it, and that Job is adopted instead of a second one.
- :func:`follow` looks at the running Job. On success it reads the result from the termination
  message, copies a new baseline into ``{monitor}-kubedrift-baseline`` and records
  ``modelVersion``; :mod:`kubedrift.controller.preparation` then rolls the version out. On
  failure (or a broken result) it records ``Failed``; the cooldown decides when to retry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.api.status import (
    BaselineStatus,
    ModelVersionStatus,
    RetrainingStatus,
    TrialStatus,
    VersionBaselineStatus,
)
from kubedrift.controller.client import batch, core
from kubedrift.controller.context import OperatorContext
from kubedrift.controller.events import Event
from kubedrift.controller.names import ADOPTED_BASELINE_KEY, MonitorRef
from kubedrift.controller.preparation import NotReadyError, parse_baseline
from kubedrift.controller.promotion import (
    gate_status,
    judge,
    rollback_due,
    serving_entry,
    with_live_metric,
    with_promoted,
    with_rejected,
    with_rolled_back,
)
from kubedrift.controller.retraining import (
    RetrainingTrigger,
    build_retraining_job,
    job_outcome,
    next_job_number,
    owned_by,
)
from kubedrift.controller.rollout import (
    ResultError,
    RetrainingResult,
    parse_result,
    termination_message,
)
from kubedrift.controller.timestamps import to_timestamp
from kubedrift.stats.paired_comparison import GateDecision


@dataclass
class Progress:
    """What following or starting a Job changed: the new status parts and Events to post."""

    retraining: RetrainingStatus | None
    baseline: BaselineStatus | None = None
    condition: tuple[str, str, str] | None = None
    events: list[Event] = field(default_factory=list)


async def follow(
    ctx: OperatorContext,
    monitor: MonitorRef,
    status: Mapping[str, Any],
    spec: ModelMonitorSpec | None = None,
) -> Progress:
    """Advance a running retraining; a no-op when none runs.

    With ``spec.retraining.promotion`` a successful Job's candidate passes the promotion gate
    first (:mod:`kubedrift.controller.promotion`); a rejected one changes nothing but status.
    """
    retraining: RetrainingStatus | None = status.get("retraining")
    baseline: BaselineStatus | None = status.get("baseline")
    if retraining is None or retraining.get("lastResult") != "Running":
        return Progress(retraining, baseline)
    name = retraining.get("lastJob", "")
    job = await ctx.client.get(batch(monitor.namespace, "jobs", name))
    outcome = "Failed" if job is None else job_outcome(job)
    if outcome == "Running":
        return Progress(retraining, baseline)
    updated = RetrainingStatus(**retraining)
    if outcome == "Failed":
        why = "was deleted" if job is None else "failed"
        return _failed(ctx, monitor, updated, baseline, f"retraining Job {name} {why}")
    pods = await ctx.client.list_items(
        core(monitor.namespace, "pods"), f"batch.kubernetes.io/job-name={name}"
    )
    promotion = spec.retraining.promotion if spec is not None and spec.retraining else None
    decision: GateDecision | None = None
    strategy = spec.retraining.rollout.strategy if spec is not None and spec.retraining else None
    try:
        result = parse_result(termination_message(pods))
        if strategy in ("shadow", "canary"):
            return _trial_started(
                ctx, updated, baseline, job=name, result=result, strategy=str(strategy)
            )
        if promotion is not None:
            if result.held_out is None:
                raise ResultError(
                    "its result has no heldOut scores, which spec.retraining.promotion requires"
                )
            decision = judge(promotion, result.held_out)
            if not decision.promote:
                return _rejected(
                    ctx, monitor, updated, baseline, job=name, result=result, decision=decision
                )
        if result.baseline is not None:
            baseline = await _adopt_baseline(
                ctx, monitor, result.baseline.config_map, result.baseline.key
            )
    except (ResultError, NotReadyError) as error:
        return _failed(
            ctx, monitor, updated, baseline, f"retraining Job {name} succeeded but {error}"
        )
    serving = _serving_version(updated)
    updated["lastResult"] = "Succeeded"
    updated["failures"] = 0  # a merge patch keeps keys that are left out
    updated["modelVersion"] = result.model_version
    ctx.metrics.record_retraining(monitor.namespace, monitor.name, "succeeded")
    message = f"Job {name} produced model version {result.model_version}"
    if result.baseline is not None:
        message += f" and baseline {result.baseline.config_map}/{result.baseline.key}"
    if decision is not None:
        gate = gate_status(decision)
        updated["gate"] = gate
        history = updated.get("history") or []
        level = (status.get("performance") or {}).get("value")
        updated["history"] = with_promoted(
            history,
            version=result.model_version,
            job=name,
            gate=gate,
            baseline=_baseline_source(result, baseline, history),
            level=None if level is None else float(level),
            now=to_timestamp(ctx.clock()),
        )
        ctx.metrics.record_promotion(monitor.namespace, monitor.name, "promoted")
        message += f"; promoted over version {serving}: {decision.summary()}"
    return Progress(
        updated,
        baseline,
        ("False", "Succeeded", message),
        [Event("Normal", "RetrainingSucceeded", message)],
    )


def _trial_started(
    ctx: OperatorContext,
    retraining: RetrainingStatus,
    baseline: BaselineStatus | None,
    *,
    job: str,
    result: RetrainingResult,
    strategy: str,
) -> Progress:
    """A shadow or canary trial of the Job's candidate begins
    (:mod:`kubedrift.controller.trials`)."""
    started = to_timestamp(ctx.clock())
    trial = TrialStatus(strategy=strategy, version=result.model_version, job=job, startedAt=started)
    if result.baseline is not None:
        trial["baseline"] = VersionBaselineStatus(
            configMap=result.baseline.config_map, key=result.baseline.key
        )
    retraining["lastResult"] = "Trial"
    retraining["failures"] = 0
    retraining["trial"] = trial
    serving = _serving_version(retraining)
    if strategy == "canary":
        message = (
            f"Job {job} produced model version {result.model_version}; it serves a share of the "
            f"traffic next to version {serving} until their live labeled rows show which is better"
        )
        reason = "CanaryTrial"
    else:
        message = (
            f"Job {job} produced model version {result.model_version}; it runs as a shadow of "
            f"version {serving} until the promotion gate can judge both on the same live labeled "
            "rows"
        )
        reason = "ShadowTrial"
    return Progress(
        retraining,
        baseline,
        ("True", reason, message),
        [Event("Normal", f"{reason}Started", message)],
    )


def _rejected(
    ctx: OperatorContext,
    monitor: MonitorRef,
    retraining: RetrainingStatus,
    baseline: BaselineStatus | None,
    *,
    job: str,
    result: RetrainingResult,
    decision: GateDecision,
) -> Progress:
    """The gate kept the serving model: record why; the next Job waits for the cooldown."""
    name = job
    gate = gate_status(decision)
    retraining["lastResult"] = "Rejected"
    retraining["failures"] = 0  # the Job worked; its model was not good enough
    retraining["gate"] = gate
    retraining["history"] = with_rejected(
        retraining.get("history") or [], version=result.model_version, job=name, gate=gate
    )
    few = decision.reason == "NotEnoughHeldOutLabels"
    ctx.metrics.record_promotion(
        monitor.namespace, monitor.name, "not_enough_held_out" if few else "rejected"
    )
    message = (
        f"Job {name}: model version {result.model_version} not promoted, version "
        f"{_serving_version(retraining)} keeps serving: {decision.summary()}; next Job after "
        "the cooldown"
    )
    return Progress(
        retraining,
        baseline,
        ("False", "NotEnoughHeldOutLabels" if few else "Rejected", message),
        [Event("Warning", "RetrainingRejected", message)],
    )


async def watch(
    ctx: OperatorContext, monitor: MonitorRef, spec: ModelMonitorSpec, status: Mapping[str, Any]
) -> Progress | None:
    """Record the serving version's live metric and roll it back when
    :func:`~kubedrift.controller.promotion.rollback_due` says so; ``None`` without history."""
    retraining: RetrainingStatus | None = status.get("retraining")
    if retraining is None or not retraining.get("history"):
        return None
    performance = status.get("performance") or {}
    value = performance.get("value")
    history = with_live_metric(retraining["history"], None if value is None else float(value))
    updated = RetrainingStatus(**retraining)
    updated["history"] = history
    due = rollback_due(spec, history, performance, ctx.clock())
    if due is None or retraining.get("lastResult") == "Running":
        return Progress(updated)
    serving, target = due
    source = target["baseline"]
    reference = spec.baseline.config_map_ref
    try:
        if (source["configMap"], source["key"]) == (reference.name, reference.key):
            baseline = BaselineStatus(configMap=reference.name, hash=source.get("hash", ""))
        else:
            baseline = await _adopt_baseline(ctx, monitor, source["configMap"], source["key"])
    except NotReadyError as error:
        message = f"cannot roll model version {serving['version']} back: {error}"
        return Progress(updated, events=[Event("Warning", "RollbackFailed", message)])
    updated["modelVersion"] = target["version"]
    updated["history"] = with_rolled_back(history)
    ctx.metrics.record_promotion(monitor.namespace, monitor.name, "rolled_back")
    metric = spec.performance.metric if spec.performance else "metric"
    message = (
        f"model version {serving['version']} rolled back to {target['version']} and its "
        f"baseline {source['configMap']}/{source['key']}: live {metric} "
        f"[{performance.get('lowerBound', 0):.4f}, {performance.get('upperBound', 0):.4f}] on "
        f"{performance.get('samples')} labels is worse than the {serving.get('levelToHold')} "
        f"version {target['version']} held"
    )
    return Progress(
        updated,
        baseline,
        ("False", "RolledBack", message),
        [Event("Warning", "ModelRolledBack", message)],
    )


async def start(
    ctx: OperatorContext,
    monitor: MonitorRef,
    spec: ModelMonitorSpec,
    status: Mapping[str, Any],
    *,
    trigger: RetrainingTrigger,
    model_version: str | None,
) -> Progress:
    """Create (or adopt) the next retraining Job and record it as running."""
    previous: RetrainingStatus | None = status.get("retraining")
    number = next_job_number(previous)
    job = build_retraining_job(
        monitor,
        spec,
        trigger,
        number=number,
        dataset_url=f"{ctx.dataset_url}/v1/datasets/{monitor.namespace}/{monitor.name}",
        model_version=model_version,
    )
    created, fresh = await ctx.client.create(batch(monitor.namespace, "jobs"), job)
    name = job["metadata"]["name"]
    if not fresh and not owned_by(created, monitor):
        raise NotReadyError("JobNameTaken", f"Job {name} exists and belongs to another owner")
    retraining = RetrainingStatus(**(previous or {"count": 0}))
    if spec.retraining is not None and spec.retraining.promotion is not None:
        seeded = _seed_history(monitor, spec, status, model_version)
        if seeded is not None:
            retraining["history"] = seeded
    retraining["count"] = number
    retraining["lastJob"] = name
    retraining["lastResult"] = "Running"
    retraining["lastTrigger"] = trigger.reason
    retraining["lastStartTime"] = to_timestamp(ctx.clock())
    how = "created" if fresh else "adopted (created before a restart)"
    message = f"Job {name} {how} because of {trigger.reason}"
    if fresh:
        ctx.metrics.record_retraining(monitor.namespace, monitor.name, "started")
    return Progress(
        retraining,
        status.get("baseline"),
        ("True", "JobRunning", message),
        [Event("Normal", "RetrainingStarted", message)],
    )


def _serving_version(retraining: RetrainingStatus) -> str:
    """The version serving now: the last rolled out, else the history's serving entry."""
    found = retraining.get("modelVersion") or next(
        (e["version"] for e in retraining.get("history") or [] if e["state"] == "Serving"), None
    )
    return found or "unknown"


def _baseline_source(
    result: RetrainingResult,
    adopted: BaselineStatus | None,
    history: list[ModelVersionStatus],
) -> tuple[str, str, str | None] | None:
    """Where the promoted version's baseline comes from: the Job's ConfigMap, or (a Job that
    sent none) the serving version's, which stays in force."""
    if result.baseline is not None:
        digest = adopted["hash"] if adopted is not None else None
        return result.baseline.config_map, result.baseline.key, digest
    kept = next((e.get("baseline") for e in history if e["state"] == "Serving"), None)
    return None if kept is None else (kept["configMap"], kept["key"], kept.get("hash"))


def _seed_history(
    monitor: MonitorRef,
    spec: ModelMonitorSpec,
    status: Mapping[str, Any],
    model_version: str | None,
) -> list[ModelVersionStatus] | None:
    """The history's first entry, the model serving before the first gated Job: its version
    (``versionEnv`` on the Deployment) and its baseline, when both are known."""
    if (status.get("retraining") or {}).get("history") or not model_version:
        return None
    baseline = status.get("baseline") or {}
    source: tuple[str, str, str | None] | None = None
    if baseline.get("configMap") == spec.baseline.config_map_ref.name:
        source = (baseline["configMap"], spec.baseline.config_map_ref.key, baseline.get("hash"))
    elif baseline.get("configMap") == monitor.adopted_baseline_config_map:
        source = None  # adopted before the gate was configured: its source is not recorded
    return [serving_entry(model_version, source)]


def _failed(
    ctx: OperatorContext,
    monitor: MonitorRef,
    retraining: RetrainingStatus,
    baseline: BaselineStatus | None,
    message: str,
) -> Progress:
    retraining["lastResult"] = "Failed"
    retraining["failures"] = retraining.get("failures", 0) + 1  # lengthens the cooldown
    ctx.metrics.record_retraining(monitor.namespace, monitor.name, "failed")
    return Progress(
        retraining,
        baseline,
        (
            "False",
            "Failed",
            message + "; retrying after the cooldown (doubled after each further failure)",
        ),
        [Event("Warning", "RetrainingFailed", message)],
    )


async def _adopt_baseline(
    ctx: OperatorContext, monitor: MonitorRef, name: str, key: str
) -> BaselineStatus:
    """Validate the Job's baseline and copy it into the monitor's own ConfigMap."""
    config_map = await ctx.client.get(core(monitor.namespace, "configmaps", name))
    text = None if config_map is None else (config_map.get("data") or {}).get(key)
    if text is None:
        raise NotReadyError(
            "BaselineNotFound", f"its baseline ConfigMap {name} key {key} is missing"
        )
    parse_baseline(ctx, (monitor.namespace, name, key), text)
    adopted = monitor.adopted_baseline_config_map
    await ctx.client.apply_config_map(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": adopted,
                "namespace": monitor.namespace,
                "labels": monitor.labels(),
                "annotations": {"kubedrift.io/adopted-from": f"{name}/{key}"},
                "ownerReferences": [monitor.owner_reference()],
            },
            "data": {ADOPTED_BASELINE_KEY: text},
        }
    )
    return BaselineStatus(configMap=adopted, hash=hashlib.sha256(text.encode()).hexdigest())


#: For :mod:`kubedrift.controller.trials`, which ends a shadow trial as a Job's gate would.
adopt_baseline = _adopt_baseline
serving_version = _serving_version
