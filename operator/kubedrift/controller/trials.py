"""Live trials' I/O: run the candidate beside the serving model, judge, promote or reject.

With ``spec.retraining.rollout.strategy: shadow`` or ``canary`` a successful Job's candidate
does not replace the serving model at once: :func:`kubedrift.controller.jobs.follow` records
``status.retraining.trial`` and ``lastResult: Trial``, and while it lasts each round
:func:`advance`

1. creates (or finds) the candidate's Deployment (:mod:`kubedrift.controller.live_trial`).
   A shadow's Pods are selected by no serving Service: a Service of their own fronts them, its
   ClusterIP becomes ``trial.shadowUrl``, and each round ``PUT /v1/shadow`` tells the serving
   sidecars to copy each sampled request to it (at run time: the serving Pods do not roll; at
   the end the same call with ``null`` stops the copies). A canary's Pods keep the serving
   Pods' labels (plus the candidate role), so the serving Service balances live traffic over
   both: ``candidateReplicas`` of all the ready Pods behind it answer with the candidate;
2. pulls the labeled rows of the serving Pods' and of the candidate's Pods' sidecars
   (``GET /v1/labeled``; the operator's feedback fan-out sends labels to both) and judges them
   (:func:`kubedrift.controller.live_trial.judge_trial`): a shadow's rows pair up and the
   promotion gate decides once ``minHeldOut`` pairs exist; a canary's rows are two independent
   samples, judged by an anytime-valid sequential comparison (mixture likelihood ratio,
   valid however many rounds look) once each model has ``minHeldOut``
   labeled rows, until it is shown better, shown worse, or both reach ``maxTrialRows``;
3. promoted: adopts the candidate's baseline, records ``modelVersion`` (the rollout then works as
   for ``restart``) and the history, ``RetrainingSucceeded``; rejected: the serving model stays,
   ``RetrainingRejected``; a trial still undecided after ``rollout.trialTimeout`` ends as
   ``TimedOut`` (``TrialTimedOut``), the serving model stays. Either way the candidate's
   Deployment (and Service) are deleted and ``trial.result`` says how it ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from kubedrift.api.spec import ModelMonitorSpec, PromotionSpec
from kubedrift.api.spec_settings import engine_contract, evaluation_settings
from kubedrift.api.status import RetrainingStatus, TrialStatus
from kubedrift.controller.client import apps, core
from kubedrift.controller.context import OperatorContext
from kubedrift.controller.dataset import merge_labeled
from kubedrift.controller.events import Event
from kubedrift.controller.injection import target_container
from kubedrift.controller.jobs import Progress, adopt_baseline, serving_version
from kubedrift.controller.live_trial import (
    answered_by,
    build_candidate_deployment,
    build_candidate_service,
    candidate_name,
    judge_trial,
    labeled_path,
    labeled_since,
)
from kubedrift.controller.names import SIDECAR_TOKEN_KEY, MonitorRef
from kubedrift.controller.observation import (
    Sidecar,
    call_sidecar,
    observe,
    pull,
    ready_sidecars,
)
from kubedrift.controller.preparation import NotReadyError, parse_baseline
from kubedrift.controller.promotion import with_promoted, with_rejected
from kubedrift.controller.timestamps import from_timestamp, to_timestamp
from kubedrift.stats.baseline import Baseline
from kubedrift.stats.engine.engine import Decision
from kubedrift.stats.engine.session import Session
from kubedrift.wire import SHADOW_PATH


async def advance(
    ctx: OperatorContext,
    monitor: MonitorRef,
    spec: ModelMonitorSpec,
    status: Mapping[str, Any],
    *,
    deployment: Mapping[str, Any],
    tokens: Mapping[str, str],
    serving_baseline: Baseline,
) -> Progress | None:
    """One round of a running shadow or canary trial; ``None`` when none runs.
    ``serving_baseline``: the serving model's, the candidate's engine's when the Job gave none."""
    retraining: RetrainingStatus | None = status.get("retraining")
    if retraining is None or retraining.get("lastResult") != "Trial" or spec.retraining is None:
        return None
    updated = RetrainingStatus(**retraining)
    trial = TrialStatus(**retraining["trial"])
    updated["trial"] = trial
    strategy = trial.get("strategy", "shadow")
    rollout = spec.retraining.rollout
    namespace = monitor.namespace
    candidate = build_candidate_deployment(
        deployment,
        container=target_container(deployment, spec)["name"],
        version_env=rollout.version_env,
        version=trial["version"],
        strategy=strategy,
        replicas=rollout.candidate_replicas,
        monitor_labels=monitor.labels(),
        owner=monitor.owner_reference(),
    )
    running, _ = await ctx.client.create(apps(namespace, "deployments"), candidate)
    port = spec.capture.listen_port
    token = tokens.get(SIDECAR_TOKEN_KEY)
    admin = spec.capture.admin_port
    serving_targets = await ready_sidecars(ctx.client, namespace, deployment, admin)
    if strategy == "shadow":
        service, _ = await ctx.client.create(
            core(namespace, "services"),
            build_candidate_service(candidate, port, monitor.owner_reference()),
        )
        cluster_ip = (service.get("spec") or {}).get("clusterIP")
        if cluster_ip and cluster_ip != "None":
            trial["shadowUrl"] = f"http://{cluster_ip}:{port}"
            # Each round, so a serving Pod started since (a restart) mirrors too; no roll.
            await _point_shadow(ctx, serving_targets, trial["shadowUrl"], token)
    mirroring = serving_targets if strategy == "shadow" else []  # told to stop at the end
    candidate_targets = await ready_sidecars(ctx.client, namespace, running, admin)
    path = labeled_path(spec.target.model)  # a shared sidecar: this monitor's model's rows
    answers = await pull(ctx.http, serving_targets, path, token, ctx.sidecar_timeout)
    serving_rows, _ = merge_labeled(answers)
    answers = await pull(ctx.http, candidate_targets, path, token, ctx.sidecar_timeout)
    candidate_rows = answered_by(merge_labeled(answers)[0], trial["version"])
    started = from_timestamp(trial["startedAt"])
    if strategy == "canary":  # the same period for both: the serving rows since the start
        serving_rows = labeled_since(serving_rows, started)
    promotion = spec.retraining.promotion or PromotionSpec()
    engine = await _candidate_engine(
        ctx, monitor, spec, trial, candidate_targets, token=token, serving_baseline=serving_baseline
    )
    decision = judge_trial(
        strategy,
        promotion,
        serving_rows,
        candidate_rows,
        max_rows=rollout.max_trial_rows,
        engine=engine,
    )
    gate = decision.gate
    if strategy == "shadow":
        trial["pairedRows"] = gate["heldOut"]
    else:
        trial["servingRows"] = gate.get("servingRows", 0)
        trial["candidateRows"] = gate.get("candidateRows", 0)
    version, job = trial["version"], trial["job"]
    serving = serving_version(updated)
    history = updated.get("history") or []
    elapsed = ctx.clock() - started
    if decision.verdict == "Wait":
        if elapsed < rollout.trial_timeout.seconds:
            return Progress(updated, status.get("baseline"))
        await _remove_candidate(ctx, monitor, deployment, mirroring, token)
        updated["gate"] = gate
        updated["lastResult"] = "Rejected"
        updated["history"] = with_rejected(history, version=version, job=job, gate=gate)
        trial["result"] = "TimedOut"
        outcome = "not_enough_held_out" if decision.reason == "NotEnoughLabels" else "rejected"
        ctx.metrics.record_promotion(namespace, monitor.name, outcome)
        message = (
            f"{strategy} of model version {version} not promoted, version {serving} keeps "
            f"serving: the trial reached rollout.trialTimeout ({rollout.trial_timeout.text}) "
            f"undecided: {decision.message}; next Job after the cooldown"
        )
        trial["message"] = message
        return Progress(
            updated,
            status.get("baseline"),
            ("False", "TrialTimedOut", message),
            [Event("Warning", "TrialTimedOut", message)],
        )
    await _remove_candidate(ctx, monitor, deployment, mirroring, token)
    updated["gate"] = gate
    rows = "live paired rows" if strategy == "shadow" else "live labeled rows of each model"
    if decision.verdict == "Reject":
        updated["lastResult"] = "Rejected"
        updated["history"] = with_rejected(history, version=version, job=job, gate=gate)
        trial["result"] = "Rejected"
        ctx.metrics.record_promotion(namespace, monitor.name, "rejected")
        what = "rolled back" if strategy == "canary" else "not promoted"
        if decision.gate["result"] == "Alarmed":
            what, rows = f"{what} ({decision.reason})", "its own window, the monitor's engine"
        message = (
            f"{strategy} of model version {version} {what}, version {serving} keeps serving: "
            f"{decision.message} ({rows}); next Job after the cooldown"
        )
        trial["message"] = message
        return Progress(
            updated,
            status.get("baseline"),
            ("False", "Rejected", message),
            [Event("Warning", "RetrainingRejected", message)],
        )
    baseline = status.get("baseline")
    source = trial.get("baseline")
    try:
        if source is not None:
            baseline = await adopt_baseline(ctx, monitor, source["configMap"], source["key"])
    except NotReadyError as error:
        message = f"{strategy} of model version {version} won but {error}"
        return Progress(updated, baseline, events=[Event("Warning", "PromotionFailed", message)])
    updated["lastResult"] = "Succeeded"
    updated["modelVersion"] = version
    level = (status.get("performance") or {}).get("value")
    kept = next((e.get("baseline") for e in history if e["state"] == "Serving"), None)
    origin = (
        (source["configMap"], source["key"], baseline["hash"] if baseline else None)
        if source is not None
        else (None if kept is None else (kept["configMap"], kept["key"], kept.get("hash")))
    )
    updated["history"] = with_promoted(
        history,
        version=version,
        job=job,
        gate=gate,
        baseline=origin,
        level=None if level is None else float(level),
        now=to_timestamp(ctx.clock()),
    )
    trial["result"] = "Promoted"
    ctx.metrics.record_promotion(namespace, monitor.name, "promoted")
    message = (
        f"{strategy} of model version {version} promoted over version {serving}: "
        f"{decision.message} ({rows})"
    )
    trial["message"] = message
    return Progress(
        updated,
        baseline,
        ("False", "Succeeded", message),
        [Event("Normal", "RetrainingSucceeded", message)],
    )


def candidate_engine_key(uid: str) -> str:
    """The key of a trial's candidate engine in ``OperatorContext.engines`` (beside the
    monitor's own, keyed by its uid)."""
    return f"{uid}/candidate"


async def _candidate_engine(
    ctx: OperatorContext,
    monitor: MonitorRef,
    spec: ModelMonitorSpec,
    trial: TrialStatus,
    targets: list[Sidecar],
    *,
    token: str | None,
    serving_baseline: Baseline,
) -> Decision | None:
    """The monitor's decision engine stepped on the candidate's own window, against the
    baseline it would be promoted with (the Job's, else the serving one); its state lasts the
    trial (``candidate_engine_key``). ``None`` without a candidate sidecar or a readable
    baseline (the comparison alone decides then)."""
    if not targets:
        return None
    baseline = serving_baseline
    source = trial.get("baseline")
    if source is not None:
        found = await ctx.client.get(core(monitor.namespace, "configmaps", source["configMap"]))
        text = None if found is None else (found.get("data") or {}).get(source["key"])
        if text is None:
            return None
        try:
            baseline = parse_baseline(
                ctx, (monitor.namespace, source["configMap"], source["key"]), text
            )
        except NotReadyError:
            return None
    settings, contract = evaluation_settings(spec), engine_contract(spec)
    key = candidate_engine_key(monitor.uid)
    session = ctx.engines.get(key)
    session = (
        Session(baseline, settings, contract)
        if session is None
        else session.renewed(baseline, settings, contract)
    )
    ctx.engines[key] = session
    observation = await observe(
        ctx.http,
        targets,
        baseline,
        settings,
        token=token,
        timeout=ctx.sidecar_timeout,
        executor=ctx.evaluator,
        engine=session,
        now=ctx.clock(),
        model=spec.target.model,
    )
    return observation.decision


async def _point_shadow(
    ctx: OperatorContext, targets: list[Sidecar], url: str | None, token: str | None
) -> None:
    """``PUT /v1/shadow`` on each serving sidecar: copy sampled requests to ``url`` (``None``:
    stop). A sidecar that does not answer is asked again next round (while the trial lasts)."""
    await asyncio.gather(
        *(
            call_sidecar(
                ctx.http,
                target.url + SHADOW_PATH,
                token,
                ctx.sidecar_timeout,
                document={"url": url},
                method="PUT",
            )
            for target in targets
        )
    )


async def _remove_candidate(
    ctx: OperatorContext,
    monitor: MonitorRef,
    deployment: Mapping[str, Any],
    mirroring: list[Sidecar],
    token: str | None,
) -> None:
    """End the trial's workload: the ``mirroring`` sidecars stop copying, the candidate's
    engine, Deployment and Service go."""
    await _point_shadow(ctx, mirroring, None, token)
    namespace = monitor.namespace
    ctx.engines.pop(candidate_engine_key(monitor.uid), None)
    name = candidate_name(deployment["metadata"]["name"])
    await ctx.client.delete(core(namespace, "services", name))
    await ctx.client.delete(apps(namespace, "deployments", name))
