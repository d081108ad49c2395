"""One round of a monitor's loop: prepare, follow retraining, evaluate, decide, report.

:func:`reconcile` is what the per-monitor daemon runs on every ``spec.evaluation.interval``:

1. parse the spec (a spec the CRD accepted always parses; anything else is ``InvalidSpec``);
2. follow a running retraining Job (success adopts the new baseline and model version);
3. :func:`~kubedrift.controller.preparation.prepare` the target (``Ready=False`` and phase
   ``Invalid`` with the reason when it cannot, and nothing else happens this round);
4. pull and merge the sidecars' windows and evaluate them;
5. start a retraining Job when a trigger is due;
6. write the status through the status subresource, post Events for transitions, call the
   webhook on alarm transitions (and on Warning flaps when ``alerts.webhook.warnings``), and
   update the metrics.

The status is computed from the status the round started with, so it is written only while
that is still the stored status (``KubeClient.write_monitor_status``); if another writer changed
it, the round ends without writing and the next one starts afresh.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kubedrift.api.conditions import set_condition
from kubedrift.api.spec import ModelMonitorSpec, SpecError, Trigger, parse_spec
from kubedrift.api.spec_settings import (
    engine_contract,
    evaluation_settings,
    segment_selection,
    stated_contract,
)
from kubedrift.controller import job_policy, jobs, trials
from kubedrift.controller.client import core
from kubedrift.controller.collector_preparation import prepare_collector
from kubedrift.controller.context import OperatorContext
from kubedrift.controller.dataset import merge_labeled
from kubedrift.controller.evaluated_status import (
    Observation,
    embedding_status,
    evaluated_status,
    invalid_status,
)
from kubedrift.controller.events import RESOLVED, Event, transition_events
from kubedrift.controller.job_policy import PolicyViolationError
from kubedrift.controller.names import (
    DATASET_TOKEN_KEY,
    SIDECAR_TOKEN_KEY,
    MonitorRef,
)
from kubedrift.controller.observation import model_path, observe, pull, ready_sidecars
from kubedrift.controller.preparation import NotReadyError, Prepared, prepare
from kubedrift.controller.retraining import RetrainingTrigger, due_trigger
from kubedrift.controller.rollout import current_model_version
from kubedrift.controller.webhook import build_payload, deliver
from kubedrift.stats.baseline import Baseline
from kubedrift.stats.engine.segmented import SegmentSessions
from kubedrift.stats.engine.session import Session
from kubedrift.stats.settings import EvaluationSettings
from kubedrift.wire import LABELED_PATH

#: Event reasons of alarm transitions: what the webhook posts.
ALARM_REASONS = frozenset(RESOLVED) | frozenset(RESOLVED.values())

#: Status keys an evaluation may drop (JSON merge patch needs an explicit null to remove them).
_VOLATILE_KEYS = ("window", "drift", "performance", "segments")


def monitor_ref(body: Mapping[str, Any]) -> MonitorRef:
    metadata = body["metadata"]
    return MonitorRef(metadata["namespace"], metadata["name"], metadata["uid"])


async def reconcile(ctx: OperatorContext, body: Mapping[str, Any]) -> dict[str, Any]:
    """Run one round for the monitor ``body``; returns the status it wrote."""
    monitor = monitor_ref(body)
    generation = int(body["metadata"].get("generation", 1))
    previous: dict[str, Any] = dict(body.get("status") or {})
    now = datetime.fromtimestamp(ctx.clock(), UTC)
    try:
        spec = parse_spec(body.get("spec") or {})
        ctx.job_policy.check(spec)
    except PolicyViolationError as error:
        return await _invalid(
            ctx,
            body,
            monitor=monitor,
            previous=previous,
            reason=job_policy.REASON,
            message=str(error),
            generation=generation,
            now=now,
        )
    except SpecError as error:
        return await _invalid(
            ctx,
            body,
            monitor=monitor,
            previous=previous,
            reason="InvalidSpec",
            message=str(error),
            generation=generation,
            now=now,
        )
    started = time.perf_counter()
    progress = await jobs.follow(ctx, monitor, previous, spec)
    current = _with_progress(previous, progress, generation, now)
    try:
        if spec.target.inference_service is not None:
            prepared = await prepare_collector(ctx, monitor, spec, current)
        else:
            prepared = await prepare(ctx, monitor, spec, current)
    except NotReadyError as error:
        return await _invalid(
            ctx,
            body,
            monitor=monitor,
            previous=previous,
            reason=error.reason,
            message=str(error),
            generation=generation,
            now=now,
            progress=progress,
        )
    current["baseline"] = {"configMap": prepared.baseline_source, "hash": prepared.baseline_hash}
    current["target"] = (
        f"InferenceService/{spec.target.inference_service}"
        if spec.target.inference_service is not None
        else f"{spec.target.kind}/{spec.target.deployment}"
    )
    events = list(progress.events)
    if prepared.injected:
        events.append(
            Event(
                "Normal",
                "SidecarInjected",
                f"sidecar added to {spec.target.kind} {spec.target.deployment}"
                if spec.target.inference_service is None
                else f"collector {prepared.deployment['metadata']['name']} now receives the "
                f"logger of InferenceService {spec.target.inference_service}",
            )
        )
    observation = await _observe(ctx, monitor, spec, prepared)
    status: dict[str, Any] = dict(
        evaluated_status(current, observation, spec, generation=generation, now=now)
    )
    watched = await jobs.watch(ctx, monitor, spec, status)  # promotion history, rollback
    if watched is not None:
        status = _with_progress(status, watched, generation, now)
        events.extend(watched.events)
    tried = await trials.advance(  # a shadow trial: judge the candidate on live rows
        ctx,
        monitor,
        spec,
        status,
        deployment=prepared.deployment,
        tokens=prepared.tokens,
        serving_baseline=prepared.baseline,
    )
    if tried is not None:
        status = _with_progress(status, tried, generation, now)
        events.extend(tried.events)
    trigger = _trigger(spec, status, observation, now.timestamp())
    if trigger is not None:
        try:
            version = (  # a retrained model reaches an InferenceService by other means
                current_model_version(prepared.deployment, spec)
                if spec.target.inference_service is None
                else None
            )
            started_job = await jobs.start(
                ctx, monitor, spec, status, trigger=trigger, model_version=version
            )
        except NotReadyError as error:
            events.append(Event("Warning", error.reason, str(error)))
        else:
            status = _with_progress(status, started_job, generation, now)
            status["phase"] = "Retraining"
            events.extend(started_job.events)
    events = (
        transition_events(
            previous.get("conditions") or [], status["conditions"], previous.get("lastKnown")
        )
        + events
    )
    for key in _VOLATILE_KEYS:
        status.setdefault(key, None)
    await ctx.client.write_monitor_status(body, status, base=previous)
    ctx.metrics.record_conditions(monitor.namespace, monitor.name, status["conditions"])
    await _announce(
        ctx,
        monitor=monitor,
        spec=spec,
        previous=previous,
        status=status,
        events=events,
        now=now,
    )
    _record(ctx, monitor, spec, observation, time.perf_counter() - started)
    return status


async def _observe(
    ctx: OperatorContext, monitor: MonitorRef, spec: ModelMonitorSpec, prepared: Prepared
) -> Observation:
    deployment = prepared.deployment
    targets = await ready_sidecars(
        ctx.client, monitor.namespace, deployment, spec.capture.admin_port
    )
    token = prepared.tokens.get(SIDECAR_TOKEN_KEY)

    async def fetch_dataset() -> dict[str, Any]:
        path = model_path(LABELED_PATH, spec.target.model)
        answers = await pull(ctx.http, targets, path, token, ctx.sidecar_timeout)
        rows, reporting = merge_labeled(answers)
        return {
            "namespace": monitor.namespace,
            "monitor": monitor.name,
            "count": len(rows),
            "sidecars": {"desired": len(targets), "reporting": reporting},
            "rows": rows,
        }

    dataset_token = prepared.tokens.get(DATASET_TOKEN_KEY)
    if dataset_token:
        ctx.datasets.register(monitor.namespace, monitor.name, dataset_token, fetch_dataset)
    settings = evaluation_settings(spec)
    contract = engine_contract(spec)
    session = ctx.engines.get(monitor.uid)
    session = (
        Session(prepared.baseline, settings, contract)
        if session is None
        else session.renewed(prepared.baseline, settings, contract)
    )
    ctx.engines[monitor.uid] = session
    segments = _segment_sessions(ctx, monitor, spec, prepared.baseline, settings)
    return await observe(
        ctx.http,
        targets,
        prepared.baseline,
        settings,
        token=token,
        timeout=ctx.sidecar_timeout,
        executor=ctx.evaluator,
        engine=session,
        now=ctx.clock(),
        segments=segments,
        model=spec.target.model,
    )


def _segment_sessions(
    ctx: OperatorContext,
    monitor: MonitorRef,
    spec: ModelMonitorSpec,
    baseline: Baseline,
    settings: EvaluationSettings,
) -> SegmentSessions | None:
    """The monitor's segment engines (``spec.segments``), renewed like its own session."""
    selection = segment_selection(spec)
    if selection is None:
        ctx.segment_engines.pop(monitor.uid, None)
        return None
    contract = stated_contract(spec)
    previous = ctx.segment_engines.get(monitor.uid)
    sessions = (
        SegmentSessions(baseline, settings, contract, selection)
        if previous is None
        else previous.renewed(baseline, settings, contract, selection)
    )
    ctx.segment_engines[monitor.uid] = sessions
    return sessions


def _trigger(
    spec: ModelMonitorSpec, status: Mapping[str, Any], observation: Observation, now: float
) -> RetrainingTrigger | None:
    conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
    active: list[Trigger] = [
        t for t in ("PerformanceDegraded", "DriftDetected") if conditions.get(t) == "True"
    ]
    reason = due_trigger(
        spec, active, status.get("retraining"), now, window_start=observation.window_start
    )
    evaluation, decision = observation.evaluation, observation.decision
    if reason is None or evaluation is None or decision is None:
        return None
    performance = evaluation.performance
    return RetrainingTrigger(
        reason=reason,
        drifted_features=decision.drifted,
        drift_share=decision.share,
        metric=performance.metric if performance else None,
        metric_value=performance.value if performance else None,
        window_start=observation.window_start,
        window_end=observation.window_end,
    )


def _with_progress(
    status: Mapping[str, Any], progress: jobs.Progress, generation: int, now: datetime
) -> dict[str, Any]:
    updated = dict(status)
    if progress.retraining is not None:
        updated["retraining"] = progress.retraining
    if progress.baseline is not None:
        updated["baseline"] = progress.baseline
    if progress.condition is not None:
        state, reason, message = progress.condition
        updated["conditions"] = set_condition(
            updated.get("conditions") or [],
            "Retraining",
            state,  # type: ignore[arg-type]
            reason,
            message,
            generation,
            now,
        )
    return updated


async def _invalid(
    ctx: OperatorContext,
    body: Mapping[str, Any],
    *,
    monitor: MonitorRef,
    previous: Mapping[str, Any],
    reason: str,
    message: str,
    generation: int,
    now: datetime,
    progress: jobs.Progress | None = None,
) -> dict[str, Any]:
    """Write ``Ready=False``; a retraining that finished this round is still recorded."""
    base = previous if progress is None else _with_progress(previous, progress, generation, now)
    status = invalid_status(base, reason, message, generation=generation, now=now)
    events = [] if progress is None else list(progress.events)
    if progress is not None and progress.retraining is not None:
        status["retraining"] = progress.retraining
        if progress.baseline is not None:
            status["baseline"] = progress.baseline
    await ctx.client.write_monitor_status(body, status, base=previous)
    events += transition_events(
        previous.get("conditions") or [], status["conditions"], previous.get("lastKnown")
    )
    for event in events:
        await post_event(ctx, monitor, event, now)
    ctx.metrics.record_failed_evaluation(monitor.namespace, monitor.name)
    return status


async def _announce(
    ctx: OperatorContext,
    *,
    monitor: MonitorRef,
    spec: ModelMonitorSpec,
    previous: Mapping[str, Any],
    status: Mapping[str, Any],
    events: list[Event],
    now: datetime,
) -> None:
    if spec.alerts.events:
        for event in events:
            await post_event(ctx, monitor, event, now)
    webhook = spec.alerts.webhook
    if webhook is None:
        return
    alarms = [e for e in events if e.reason in ALARM_REASONS]
    phases = {previous.get("phase"), status.get("phase")}
    if webhook.warnings and "Warning" in phases and len(phases) == 2 and not alarms:
        alarms = [Event("Normal", f"Phase{status.get('phase')}", "phase changed")]
    if not alarms:
        return
    token = None
    if webhook.secret_ref is not None:
        secret = await ctx.client.get(core(monitor.namespace, "secrets", webhook.secret_ref.name))
        token = _secret_value(secret, webhook.secret_ref.key)
    for event in alarms:  # one post per transition
        payload = build_payload(
            monitor.namespace,
            monitor.name,
            previous=previous.get("phase"),
            current=str(status.get("phase")),
            reason=event.reason,
            message=event.message,
            now=now.timestamp(),
            status={k: v for k, v in status.items() if v is not None},
        )
        task = asyncio.create_task(
            deliver(ctx.http, webhook.url, payload, timeout=webhook.timeout.seconds, token=token)
        )
        ctx.background.add(task)
        task.add_done_callback(ctx.background.discard)


async def post_event(
    ctx: OperatorContext, monitor: MonitorRef, event: Event, now: datetime
) -> None:
    """Post one core/v1 Event about the monitor (a repeat is counted on the earlier one)."""
    await ctx.events.post(monitor, event, now)


def _record(
    ctx: OperatorContext,
    monitor: MonitorRef,
    spec: ModelMonitorSpec,
    observation: Observation,
    seconds: float,
) -> None:
    evaluation = observation.evaluation
    result = "degraded" if observation.degraded else observation.verdict
    performance = evaluation.performance if evaluation is not None else None
    decision = observation.decision
    ctx.metrics.record_evaluation(
        monitor.namespace,
        monitor.name,
        result=result,
        seconds=seconds,
        desired=observation.desired,
        reporting=observation.reporting,
        drift_share=decision.share if decision is not None and observation.has_data else None,
        metric=spec.performance.metric if spec.performance else None,
        metric_value=performance.value if performance is not None else None,
        multivariate_evidence=_multivariate_evidence(observation),
        embedding_evidence=_embedding_evidence(observation),
    )
    if ctx.metrics.segments is not None and spec.segments is not None:
        ctx.metrics.segments.record(
            monitor.namespace,
            monitor.name,
            [
                (
                    s.value,
                    s.drifted,
                    s.degraded,
                    s.evidence,
                    s.samples,
                    (s.performance.metric, s.performance.value)
                    if s.performance is not None and s.performance.value is not None
                    else None,
                )
                for s in observation.segments
                if s.decision is not None
            ],
        )
        ctx.metrics.segments.record_estimates(
            monitor.namespace,
            monitor.name,
            {
                s.value: {
                    name: (entry.estimate.value, entry.estimate.lower, entry.estimate.upper)
                    for name, entry in s.estimated.items()
                }
                for s in observation.segments
                if s.decision is not None and s.estimated
            },
        )
    if observation.estimated:
        ctx.metrics.record_estimates(
            monitor.namespace,
            monitor.name,
            {
                name: (entry.estimate.value, entry.estimate.lower, entry.estimate.upper)
                for name, entry in observation.estimated.items()
            },
        )


def _embedding_evidence(observation: Observation) -> dict[str, float]:
    """Each embedding block's largest log e-value (``status.drift.embeddings``)."""
    decision = observation.decision
    if decision is None or not observation.has_data:
        return {}
    return {entry["name"]: entry["evidence"] for entry in embedding_status(decision)}


def _multivariate_evidence(observation: Observation) -> float | None:
    decision = observation.decision
    if decision is None or not observation.has_data:
        return None
    found = [s.statistic for s in decision.signals if s.kind == "multivariate"]
    return found[0] if found else None


def _secret_value(secret: Mapping[str, Any] | None, key: str) -> str | None:
    value = (secret or {}).get("data", {}).get(key)
    return base64.b64decode(value).decode() if value else None
