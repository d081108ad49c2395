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
from kubedrift.api.status import BaselineStatus, RetrainingStatus
from kubedrift.controller.client import batch, core
from kubedrift.controller.context import OperatorContext
from kubedrift.controller.events import Event
from kubedrift.controller.names import ADOPTED_BASELINE_KEY, MonitorRef
from kubedrift.controller.preparation import NotReadyError, parse_baseline
from kubedrift.controller.retraining import (
    RetrainingTrigger,
    build_retraining_job,
    job_outcome,
    next_job_number,
    owned_by,
)
from kubedrift.controller.rollout import ResultError, parse_result, termination_message
from kubedrift.controller.timestamps import to_timestamp


@dataclass
class Progress:
    """What following or starting a Job changed: the new status parts and Events to post."""

    retraining: RetrainingStatus | None
    baseline: BaselineStatus | None = None
    condition: tuple[str, str, str] | None = None
    events: list[Event] = field(default_factory=list)


async def follow(ctx: OperatorContext, monitor: MonitorRef, status: Mapping[str, Any]) -> Progress:
    """Advance a running retraining; a no-op when none runs."""
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
    try:
        result = parse_result(termination_message(pods))
        if result.baseline is not None:
            baseline = await _adopt_baseline(
                ctx, monitor, result.baseline.config_map, result.baseline.key
            )
    except (ResultError, NotReadyError) as error:
        return _failed(
            ctx, monitor, updated, baseline, f"retraining Job {name} succeeded but {error}"
        )
    updated["lastResult"] = "Succeeded"
    updated["failures"] = 0  # a merge patch keeps keys that are left out
    updated["modelVersion"] = result.model_version
    ctx.metrics.record_retraining(monitor.namespace, monitor.name, "succeeded")
    message = f"Job {name} produced model version {result.model_version}"
    if result.baseline is not None:
        message += f" and baseline {result.baseline.config_map}/{result.baseline.key}"
    return Progress(
        updated,
        baseline,
        ("False", "Succeeded", message),
        [Event("Normal", "RetrainingSucceeded", message)],
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
