"""The shadow trial's I/O: run the candidate beside the serving model, judge, promote or reject.

With ``spec.retraining.rollout.strategy: shadow`` a successful Job's candidate does not replace
the serving model at once: :func:`kubedrift.controller.jobs.follow` records
``status.retraining.trial`` and ``lastResult: Trial``, and while it lasts each round
:func:`advance`

1. creates (or finds) the candidate's Deployment and Service
   (:mod:`kubedrift.controller.live_trial`), and records the Service's ClusterIP as
   ``trial.shadowUrl``; the next round's preparation puts it into the sidecars' config as
   ``shadow.url``, so the serving sidecars copy each sampled request to the candidate;
2. pulls the labeled rows of the serving Pods' and the candidate's Pods' sidecars
   (``GET /v1/labeled``), pairs them (same features and label) and, once ``minHeldOut`` pairs
   exist, lets the promotion gate decide on them;
3. promoted: adopts the candidate's baseline, records ``modelVersion`` (the rollout then works as
   for ``restart``) and the history, ``RetrainingSucceeded``; rejected: the serving model stays,
   ``RetrainingRejected``. Either way the candidate's Deployment and Service are deleted and
   ``trial.result`` says how it ended.

Labels reach the candidate's sidecars when they are sent to them; the operator's feedback
fan-out does not include them yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubedrift.api.spec import ModelMonitorSpec, PromotionSpec
from kubedrift.api.status import RetrainingStatus, TrialStatus
from kubedrift.controller.client import apps, core
from kubedrift.controller.context import OperatorContext
from kubedrift.controller.dataset import merge_labeled
from kubedrift.controller.events import Event
from kubedrift.controller.injection import target_container
from kubedrift.controller.jobs import Progress, adopt_baseline, serving_version
from kubedrift.controller.live_trial import (
    build_candidate_deployment,
    build_candidate_service,
    candidate_name,
    paired_scores,
)
from kubedrift.controller.names import SIDECAR_TOKEN_KEY, MonitorRef
from kubedrift.controller.observation import pull, ready_sidecars
from kubedrift.controller.preparation import NotReadyError
from kubedrift.controller.promotion import gate_status, judge, with_promoted, with_rejected
from kubedrift.controller.timestamps import to_timestamp
from kubedrift.wire import LABELED_PATH


async def advance(
    ctx: OperatorContext,
    monitor: MonitorRef,
    spec: ModelMonitorSpec,
    status: Mapping[str, Any],
    *,
    deployment: Mapping[str, Any],
    tokens: Mapping[str, str],
) -> Progress | None:
    """One round of a running shadow trial; ``None`` when none runs."""
    retraining: RetrainingStatus | None = status.get("retraining")
    if retraining is None or retraining.get("lastResult") != "Trial" or spec.retraining is None:
        return None
    updated = RetrainingStatus(**retraining)
    trial = TrialStatus(**retraining["trial"])
    updated["trial"] = trial
    namespace = monitor.namespace
    candidate = build_candidate_deployment(
        deployment,
        container=target_container(deployment, spec)["name"],
        version_env=spec.retraining.rollout.version_env,
        version=trial["version"],
        strategy="shadow",
        replicas=spec.retraining.rollout.candidate_replicas,
        monitor_labels=monitor.labels(),
        owner=monitor.owner_reference(),
    )
    running, _ = await ctx.client.create(apps(namespace, "deployments"), candidate)
    port = spec.capture.listen_port
    service, _ = await ctx.client.create(
        core(namespace, "services"),
        build_candidate_service(candidate, port, monitor.owner_reference()),
    )
    cluster_ip = (service.get("spec") or {}).get("clusterIP")
    if cluster_ip and cluster_ip != "None":
        trial["shadowUrl"] = f"http://{cluster_ip}:{port}"
    token = tokens.get(SIDECAR_TOKEN_KEY)
    admin = spec.capture.admin_port
    serving_targets = await ready_sidecars(ctx.client, namespace, deployment, admin)
    candidate_targets = await ready_sidecars(ctx.client, namespace, running, admin)
    answers = await pull(ctx.http, serving_targets, LABELED_PATH, token, ctx.sidecar_timeout)
    serving_rows, _ = merge_labeled(answers)
    answers = await pull(ctx.http, candidate_targets, LABELED_PATH, token, ctx.sidecar_timeout)
    candidate_rows, _ = merge_labeled(answers)
    promotion = spec.retraining.promotion or PromotionSpec()
    scores = paired_scores(serving_rows, candidate_rows)
    trial["pairedRows"] = len(scores.serving)
    decision = judge(promotion, scores)
    if decision.reason == "NotEnoughHeldOutLabels":
        return Progress(updated, status.get("baseline"))
    await _remove_candidate(ctx, namespace, deployment)
    gate = gate_status(decision)
    updated["gate"] = gate
    history = updated.get("history") or []
    version, job = trial["version"], trial["job"]
    serving = serving_version(updated)
    if not decision.promote:
        updated["lastResult"] = "Rejected"
        updated["history"] = with_rejected(history, version=version, job=job, gate=gate)
        trial["result"] = "Rejected"
        ctx.metrics.record_promotion(namespace, monitor.name, "rejected")
        message = (
            f"shadow of model version {version} not promoted, version {serving} keeps serving: "
            f"{decision.summary()} (live paired rows); next Job after the cooldown"
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
        message = f"shadow of model version {version} won but {error}"
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
        f"shadow of model version {version} promoted over version {serving}: "
        f"{decision.summary()} (live paired rows)"
    )
    trial["message"] = message
    return Progress(
        updated,
        baseline,
        ("False", "Succeeded", message),
        [Event("Normal", "RetrainingSucceeded", message)],
    )


async def _remove_candidate(
    ctx: OperatorContext, namespace: str, deployment: Mapping[str, Any]
) -> None:
    name = candidate_name(deployment["metadata"]["name"])
    await ctx.client.delete(core(namespace, "services", name))
    await ctx.client.delete(apps(namespace, "deployments", name))
