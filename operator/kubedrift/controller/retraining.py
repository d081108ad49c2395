"""When to start a retraining Job, and the Job itself (pure).

A retraining starts when a condition listed in ``spec.retraining.triggers`` is active, no Job
of this monitor is running, and the cooldown since the last Job's start has passed
(:func:`due_trigger`). The Job is named ``{monitor}-retrain-{count + 1}`` where ``count`` is
``status.retraining.count``: the operator creates the Job first and records it in status
second, so a crash in between leaves the count unchanged, the next attempt asks for the same
name, gets 409 AlreadyExists and adopts the Job. No second Job can exist for one trigger.

The Job learns why it runs from its environment (every container of the template gets it):

``KUBEDRIFT_MONITOR``, ``KUBEDRIFT_NAMESPACE``, ``KUBEDRIFT_REASON`` (DriftDetected or
PerformanceDegraded), ``KUBEDRIFT_DRIFTED_FEATURES`` (comma-separated), ``KUBEDRIFT_DRIFT_SHARE``,
``KUBEDRIFT_METRIC``, ``KUBEDRIFT_METRIC_VALUE``, ``KUBEDRIFT_WINDOW_START`` and
``KUBEDRIFT_WINDOW_END`` (RFC 3339), ``KUBEDRIFT_MODEL_VERSION`` (the version being replaced),
``KUBEDRIFT_RETRAINING_NUMBER``, ``KUBEDRIFT_DATASET_URL`` and ``KUBEDRIFT_DATASET_TOKEN`` (a
``secretKeyRef``; send it as ``Authorization: Bearer``) to fetch dataset B.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kubedrift.api.spec import ModelMonitorSpec, Trigger
from kubedrift.api.status import RetrainingStatus
from kubedrift.controller.names import DATASET_TOKEN_KEY, RETRAINING_LABEL, MonitorRef
from kubedrift.controller.timestamps import from_timestamp, to_timestamp

JobOutcome = Literal["Running", "Succeeded", "Failed"]
#: Largest factor by which consecutive failures lengthen the cooldown.
MAX_BACKOFF = 8


@dataclass(frozen=True)
class RetrainingTrigger:
    """Why a retraining starts: the trigger and the evidence from the evaluation."""

    reason: Trigger
    drifted_features: tuple[str, ...] = ()
    drift_share: float | None = None
    metric: str | None = None
    metric_value: float | None = None
    window_start: float | None = None
    window_end: float | None = None


def due_trigger(
    spec: ModelMonitorSpec,
    active: Iterable[Trigger],
    retraining: RetrainingStatus | None,
    now: float,
    *,
    window_start: float | None = None,
) -> Trigger | None:
    """The first active trigger that should start a Job now, or ``None``.

    ``active`` are the conditions that are True after this evaluation, in priority order.
    After a successful Job only fresh evidence counts: a window (``window_start``, the merged
    window's oldest sample) that began before that Job started is the very evidence the Job
    already answered (sidecars not yet rolled, windows not yet reset), never a new trigger.
    """
    if spec.retraining is None or spec.retraining.template is None:
        return None
    if retraining is not None:
        if retraining.get("lastResult") in ("Running", "Trial"):
            return None
        started = retraining.get("lastStartTime")
        if started and now - from_timestamp(started) < cooldown_seconds(spec, retraining):
            return None
        if (
            started
            and retraining.get("lastResult") == "Succeeded"
            and window_start is not None
            and window_start <= from_timestamp(started)
        ):
            return None
    return next((t for t in active if t in spec.retraining.triggers), None)


def cooldown_seconds(spec: ModelMonitorSpec, retraining: RetrainingStatus) -> float:
    """The wait after the last Job's start: ``spec.retraining.cooldown``, doubled for each
    consecutive failed Job after the first (``status.retraining.failures``), at most
    ``MAX_BACKOFF`` times, so a Job that always fails is retried ever less often, never in a
    storm."""
    if spec.retraining is None:
        return 0.0
    failures = retraining.get("failures", 0)
    factor = min(1 << max(failures - 1, 0), MAX_BACKOFF)
    return float(spec.retraining.cooldown.seconds) * factor


def next_job_number(retraining: RetrainingStatus | None) -> int:
    """The number of the next Job: one more than the Jobs recorded in status."""
    return (retraining["count"] if retraining is not None else 0) + 1


def build_retraining_job(
    monitor: MonitorRef,
    spec: ModelMonitorSpec,
    trigger: RetrainingTrigger,
    *,
    number: int,
    dataset_url: str,
    model_version: str | None = None,
) -> dict[str, Any]:
    """The ``number``-th retraining Job from ``spec.retraining.template``, owned by the monitor."""
    if spec.retraining is None or spec.retraining.template is None:
        raise ValueError("spec.retraining.template is required to build a retraining Job")
    template = copy.deepcopy(dict(spec.retraining.template))
    template_meta = template.get("metadata") or {}
    job_spec: dict[str, Any] = template.get("spec") or {}
    pod_template = job_spec.setdefault("template", {})
    pod_meta = pod_template.setdefault("metadata", {})
    labels = {**monitor.labels(), RETRAINING_LABEL: str(number)}
    pod_meta["labels"] = {**(pod_meta.get("labels") or {}), **labels}
    pod_spec = pod_template.setdefault("spec", {})
    pod_spec.setdefault("restartPolicy", "Never")
    if spec.retraining.service_account_name:
        pod_spec["serviceAccountName"] = spec.retraining.service_account_name
    env = job_environment(monitor, trigger, number, dataset_url, model_version)
    for container in pod_spec.get("containers") or []:
        names = {e["name"] for e in env}
        kept = [e for e in container.get("env") or [] if e.get("name") not in names]
        container["env"] = kept + env
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": monitor.job_name(number),
            "namespace": monitor.namespace,
            "labels": {**(template_meta.get("labels") or {}), **labels},
            "annotations": {
                **(template_meta.get("annotations") or {}),
                "kubedrift.io/reason": trigger.reason,
            },
            "ownerReferences": [monitor.owner_reference()],
        },
        "spec": job_spec,
    }


def job_environment(
    monitor: MonitorRef,
    trigger: RetrainingTrigger,
    number: int,
    dataset_url: str,
    model_version: str | None,
) -> list[dict[str, Any]]:
    """The ``KUBEDRIFT_*`` variables listed in the module docstring, in that order."""
    values: dict[str, str | None] = {
        "KUBEDRIFT_MONITOR": monitor.name,
        "KUBEDRIFT_NAMESPACE": monitor.namespace,
        "KUBEDRIFT_REASON": trigger.reason,
        "KUBEDRIFT_DRIFTED_FEATURES": ",".join(trigger.drifted_features),
        "KUBEDRIFT_DRIFT_SHARE": _number(trigger.drift_share),
        "KUBEDRIFT_METRIC": trigger.metric,
        "KUBEDRIFT_METRIC_VALUE": _number(trigger.metric_value),
        "KUBEDRIFT_WINDOW_START": _time(trigger.window_start),
        "KUBEDRIFT_WINDOW_END": _time(trigger.window_end),
        "KUBEDRIFT_MODEL_VERSION": model_version,
        "KUBEDRIFT_RETRAINING_NUMBER": str(number),
        "KUBEDRIFT_DATASET_URL": dataset_url,
    }
    env: list[dict[str, Any]] = [
        {"name": name, "value": value} for name, value in values.items() if value is not None
    ]
    env.append(
        {
            "name": "KUBEDRIFT_DATASET_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": monitor.token_secret, "key": DATASET_TOKEN_KEY}},
        }
    )
    return env


def job_outcome(job: Mapping[str, Any]) -> JobOutcome:
    """Running until the Job's ``Complete`` or ``Failed`` condition is True."""
    for condition in job.get("status", {}).get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") in ("Complete", "SuccessCriteriaMet"):
            return "Succeeded"
        if condition.get("type") in ("Failed", "FailureTarget"):
            return "Failed"
    return "Running"


def owned_by(obj: Mapping[str, Any], monitor: MonitorRef) -> bool:
    """Whether ``obj`` names this very monitor (same uid) as its controller."""
    return any(
        ref.get("uid") == monitor.uid and ref.get("controller")
        for ref in obj.get("metadata", {}).get("ownerReferences") or []
    )


def _number(value: float | None) -> str | None:
    return None if value is None else repr(float(value))


def _time(value: float | None) -> str | None:
    return None if value is None else to_timestamp(value)
