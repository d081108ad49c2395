"""The promotion gate and the rollback watch, as pure functions over the status (no I/O).

With ``spec.retraining.promotion`` a successful retraining Job's model is not rolled out as it
is: its result must carry ``heldOut``, the per-row correctness of the serving model and of the
candidate on the same held-out labeled rows (see :mod:`kubedrift.controller.rollout`), and
:func:`judge` promotes it only when
:func:`kubedrift.stats.paired_comparison.compare_paired` shows the
candidate better by ``margin`` at ``confidence``. A rejected candidate leaves the serving model
and its baseline in place and is recorded in the history as ``Rejected``.

After a promotion the new version carries ``levelToHold``, its predecessor's last live value of
``spec.performance.metric``. Within ``watchPeriod`` of the promotion, :func:`rollback_due` says
to roll back when the live metric's whole confidence interval is worse than that level (upper
bound below it for metrics where higher is better, lower bound above it for errors) with at
least ``minLabeledSamples`` labels: the same rule that calls a model degraded, with the
predecessor's level as the threshold.

``status.retraining.history`` keeps the last :data:`HISTORY_LIMIT` versions, newest first; the
serving version and the one it replaced (the rollback target) are never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubedrift.api.spec import ModelMonitorSpec, PromotionSpec
from kubedrift.api.status import GateResult, GateStatus, ModelVersionStatus, Timestamp
from kubedrift.controller.rollout import HeldOutScores
from kubedrift.controller.timestamps import from_timestamp
from kubedrift.stats.paired_comparison import GateDecision, compare_paired
from kubedrift.stats.performance import HIGHER_IS_BETTER
from kubedrift.stats.unpaired_comparison import TEST_NAME, CanaryDecision

#: Versions kept in ``status.retraining.history``.
HISTORY_LIMIT = 5


def judge(promotion: PromotionSpec, scores: HeldOutScores) -> GateDecision:
    """The gate's decision on a candidate's held-out scores."""
    return compare_paired(
        scores.serving,
        scores.candidate,
        margin=promotion.margin,
        confidence=promotion.confidence,
        min_held_out=promotion.min_held_out,
    )


def gate_status(decision: GateDecision) -> GateStatus:
    """The decision as ``status.retraining.gate`` (and a history entry's ``gate``)."""
    result: GateResult = "Promoted"
    if not decision.promote:
        result = (
            "NotEnoughHeldOutLabels" if decision.reason == "NotEnoughHeldOutLabels" else "NotBetter"
        )
    gate = GateStatus(
        result=result,
        heldOut=decision.held_out,
        candidateOnly=decision.candidate_only,
        servingOnly=decision.serving_only,
        margin=decision.margin,
        confidence=decision.confidence,
        test=decision.test,
    )
    if decision.serving_accuracy is not None and decision.candidate_accuracy is not None:
        gate["servingAccuracy"] = decision.serving_accuracy
        gate["candidateAccuracy"] = decision.candidate_accuracy
    if decision.p_value is not None:
        gate["pValue"] = decision.p_value
    return gate


def canary_gate_status(decision: CanaryDecision) -> GateStatus:
    """A canary's verdict as ``status.retraining.gate``: ``heldOut`` counts both models' labeled
    rows, ``servingRows`` and ``candidateRows`` each one's; no pairs, so ``candidateOnly`` and
    ``servingOnly`` are 0; ``pValue`` is the anytime-valid p-value of the hypothesis that
    decided (worse: that of "candidate worse")."""
    results: dict[str, GateResult] = {
        "Better": "Promoted",
        "Worse": "Worse",
        "NotEnoughLabels": "NotEnoughHeldOutLabels",
    }
    result = results.get(decision.reason, "NotBetter")
    gate = GateStatus(
        result=result,
        heldOut=decision.serving_rows + decision.candidate_rows,
        candidateOnly=0,
        servingOnly=0,
        margin=decision.margin,
        confidence=decision.confidence,
        test=TEST_NAME,
        servingRows=decision.serving_rows,
        candidateRows=decision.candidate_rows,
    )
    if decision.serving_accuracy is not None and decision.candidate_accuracy is not None:
        gate["servingAccuracy"] = decision.serving_accuracy
        gate["candidateAccuracy"] = decision.candidate_accuracy
    p_value = decision.p_worse if decision.reason == "Worse" else decision.p_better
    if p_value is not None:
        gate["pValue"] = p_value
    return gate


def serving_entry(version: str, baseline: tuple[str, str, str | None] | None) -> ModelVersionStatus:
    """The entry of the model serving before the first gated retraining (its version from the
    Deployment, its baseline ConfigMap, key and hash)."""
    entry = ModelVersionStatus(version=version, state="Serving")
    if baseline is not None:
        entry["baseline"] = _baseline(baseline)
    return entry


def with_rejected(
    history: Sequence[ModelVersionStatus],
    *,
    version: str,
    job: str,
    gate: GateStatus,
) -> list[ModelVersionStatus]:
    """The history after the gate rejected ``version``."""
    entry = ModelVersionStatus(version=version, state="Rejected", job=job, gate=gate)
    return trim([entry, *history])


def with_promoted(
    history: Sequence[ModelVersionStatus],
    *,
    version: str,
    job: str,
    gate: GateStatus | None,
    baseline: tuple[str, str, str | None] | None,
    level: float | None,
    now: Timestamp,
) -> list[ModelVersionStatus]:
    """The history after ``version`` was promoted: the serving entry becomes ``Replaced`` and
    the new one, serving, holds its predecessor's level (``None``: nothing to watch)."""
    entry = ModelVersionStatus(version=version, state="Serving", job=job, promotedAt=now)
    if gate is not None:
        entry["gate"] = gate
    if baseline is not None:
        entry["baseline"] = _baseline(baseline)
    predecessor = _serving_index(history)
    if level is not None and predecessor is not None and "baseline" in history[predecessor]:
        entry["levelToHold"] = level
    replaced = [
        ModelVersionStatus(**{**e, "state": "Replaced"}) if e["state"] == "Serving" else e
        for e in history
    ]
    return trim([entry, *replaced])


def with_live_metric(
    history: Sequence[ModelVersionStatus], value: float | None
) -> list[ModelVersionStatus]:
    """The serving entry with the latest live metric value."""
    if value is None:
        return list(history)
    return [
        ModelVersionStatus(**{**e, "metricValue": value}) if e["state"] == "Serving" else e
        for e in history
    ]


def rollback_due(
    spec: ModelMonitorSpec,
    history: Sequence[ModelVersionStatus],
    performance: Mapping[str, Any] | None,
    now: float,
) -> tuple[ModelVersionStatus, ModelVersionStatus] | None:
    """(serving, predecessor) when the serving version must be rolled back, else ``None``."""
    promotion = spec.retraining.promotion if spec.retraining is not None else None
    if promotion is None or spec.performance is None or not performance:
        return None
    index = _serving_index(history)
    if index is None:
        return None
    serving = history[index]
    level = serving.get("levelToHold")
    promoted = serving.get("promotedAt")
    if level is None or promoted is None:
        return None
    if now - from_timestamp(promoted) > promotion.watch_period.seconds:
        return None
    if int(performance.get("samples", 0)) < spec.performance.min_labeled_samples:
        return None
    if spec.performance.metric in HIGHER_IS_BETTER:
        bound = performance.get("upperBound")
        worse = bound is not None and float(bound) < level
    else:
        bound = performance.get("lowerBound")
        worse = bound is not None and float(bound) > level
    if not worse:
        return None
    target = _rollback_target(history)
    if target is None or "baseline" not in history[target]:
        return None
    return serving, history[target]


def with_rolled_back(history: Sequence[ModelVersionStatus]) -> list[ModelVersionStatus]:
    """The history after the serving version was rolled back to the version it replaced."""
    serving = _serving_index(history)
    target = _rollback_target(history)
    out: list[ModelVersionStatus] = []
    for index, entry in enumerate(history):
        if index == serving:
            out.append(ModelVersionStatus(**{**entry, "state": "RolledBack"}))
        elif index == target:
            back = ModelVersionStatus(**{**entry, "state": "Serving"})
            back.pop("levelToHold", None)  # a restored version is not watched again
            out.append(back)
        else:
            out.append(entry)
    return out


def trim(history: Sequence[ModelVersionStatus]) -> list[ModelVersionStatus]:
    """At most :data:`HISTORY_LIMIT` entries, newest first, keeping the serving entry and the
    latest ``Replaced`` one (the rollback target) whatever their age."""
    keep = {i for i in (_serving_index(history), _rollback_target(history)) if i is not None}
    for index in range(len(history)):
        if len(keep) >= HISTORY_LIMIT:
            break
        keep.add(index)
    return [entry for index, entry in enumerate(history) if index in keep]


def _serving_index(history: Sequence[ModelVersionStatus]) -> int | None:
    return next((i for i, e in enumerate(history) if e["state"] == "Serving"), None)


def _rollback_target(history: Sequence[ModelVersionStatus]) -> int | None:
    """The version the serving one replaced: the first ``Replaced`` entry after it."""
    serving = _serving_index(history)
    if serving is None:
        return None
    return next(
        (i for i in range(serving + 1, len(history)) if history[i]["state"] == "Replaced"), None
    )


def _baseline(baseline: tuple[str, str, str | None]) -> Any:
    config_map, key, digest = baseline
    out: dict[str, str] = {"configMap": config_map, "key": key}
    if digest is not None:
        out["hash"] = digest
    return out
