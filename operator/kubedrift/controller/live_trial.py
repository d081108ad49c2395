"""Live trials of a retrained candidate, shadow and canary: the pure parts (no I/O).

A live trial judges a candidate on live labeled traffic instead of (or after) the Job's held-out
rows. The candidate runs in its own workload, :func:`build_candidate_deployment`: a copy of the
serving Deployment named ``{deployment}-kubedrift-candidate`` whose model container gets the
candidate's version in ``versionEnv`` and whose Pods carry ``kubedrift.io/model-role:
candidate``, so the operator tells their sidecars' rows from the serving Pods' rows.

- **shadow**: the candidate's Pods get only the role label and the monitor label, so no Service of
  the serving model selects them; :func:`build_candidate_service` fronts them and the serving
  sidecars copy each sampled request to it (``PUT /v1/shadow`` at run time, see
  docs/sidecar.md). Both models answer the *same* requests, so their labeled rows pair up:
  :func:`paired_scores` matches them by their features and label and gives the same
  :class:`~kubedrift.controller.rollout.HeldOutScores` the promotion gate judges
  (:func:`kubedrift.controller.promotion.judge`: exact McNemar or Tango's score test).
- **canary**: the candidate's Pods keep the serving Pods' labels, so the serving Service sends
  them a share of live traffic (``candidate replicas / all replicas``); each model answers other
  requests, so :func:`canary_counts` counts correct rows per model and
  :func:`kubedrift.stats.unpaired_comparison.compare_unpaired` judges them, every round, with an
  anytime-valid sequential test (looking again does not inflate its errors).
"""

from __future__ import annotations

import copy
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from kubedrift.api.spec import PromotionSpec
from kubedrift.api.status import GateStatus
from kubedrift.controller.names import (
    CANDIDATE_ROLE,
    MODEL_ROLE_LABEL,
    MODEL_VERSION_ANNOTATION,
    SIDECAR_CONTAINER,
    SIDECAR_MODEL_VERSION_ENV,
)
from kubedrift.controller.observation import model_path
from kubedrift.controller.promotion import canary_gate_status, gate_status, judge
from kubedrift.controller.rollout import HeldOutScores
from kubedrift.stats.engine.engine import Decision
from kubedrift.stats.unpaired_comparison import CanaryVerdict, compare_unpaired
from kubedrift.wire import LABELED_PATH

#: Suffix of the candidate's Deployment and Service names.
CANDIDATE_SUFFIX = "-kubedrift-candidate"


_Row = TypeVar("_Row", bound=Mapping[str, Any])


def candidate_name(deployment: str) -> str:
    """The candidate workload's name (Deployment and Service).

    >>> candidate_name("fraud-model")
    'fraud-model-kubedrift-candidate'
    """
    return deployment + CANDIDATE_SUFFIX


def build_candidate_deployment(
    deployment: Mapping[str, Any],
    *,
    container: str,
    version_env: str,
    version: str,
    strategy: str,
    replicas: int,
    monitor_labels: Mapping[str, str],
    owner: Mapping[str, Any],
) -> dict[str, Any]:
    """The candidate's Deployment, from the serving ``deployment`` (``strategy``: shadow|canary).

    The sidecar the operator injected into the serving Deployment (container, config volume) is
    copied with the rest of the template, so the candidate's Pods record their own predictions
    with the monitor's config; copies a shadow receives carry ``X-Kubedrift-Shadow`` and are
    never mirrored again (docs/sidecar.md). The status is not copied.
    """
    if strategy not in ("shadow", "canary"):
        raise ValueError(f"strategy must be shadow or canary, got {strategy!r}")
    meta = deployment.get("metadata") or {}
    spec = copy.deepcopy(dict(deployment.get("spec") or {}))
    template = spec.setdefault("template", {})
    template_meta = template.setdefault("metadata", {})
    role = {MODEL_ROLE_LABEL: CANDIDATE_ROLE, **monitor_labels}
    if strategy == "shadow":
        pod_labels = {**role, "app.kubernetes.io/name": candidate_name(meta["name"])}
        selector: dict[str, str] = dict(pod_labels)
    else:
        pod_labels = {**(template_meta.get("labels") or {}), **role}
        match = (spec.get("selector") or {}).get("matchLabels") or {}
        selector = {**match, MODEL_ROLE_LABEL: CANDIDATE_ROLE}
    template_meta["labels"] = pod_labels
    template_meta["annotations"] = {
        **(template_meta.get("annotations") or {}),
        MODEL_VERSION_ANNOTATION: version,
    }
    spec["selector"] = {"matchLabels": selector}
    spec["replicas"] = replicas
    pod_spec = template.setdefault("spec", {})
    pod_spec["containers"] = [
        _with_version(c, version_env, version)
        if c.get("name") == container
        else _with_version(c, SIDECAR_MODEL_VERSION_ENV, version)
        if c.get("name") == SIDECAR_CONTAINER
        else c
        for c in pod_spec.get("containers") or []
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": candidate_name(meta["name"]),
            "namespace": meta.get("namespace"),
            "labels": dict(role),
            "annotations": {"kubedrift.io/candidate-version": version},
            "ownerReferences": [dict(owner)],
        },
        "spec": spec,
    }


def build_candidate_service(
    candidate: Mapping[str, Any], port: int, owner: Mapping[str, Any]
) -> dict[str, Any]:
    """A ClusterIP Service in front of the shadow's Pods on ``port``, their sidecar's proxy port
    (so each copy passes the shadow's sidecar, which records the shadow's answer)."""
    meta = candidate["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "labels": dict(meta.get("labels") or {}),
            "ownerReferences": [dict(owner)],
        },
        "spec": {
            "selector": dict(candidate["spec"]["selector"]["matchLabels"]),
            "ports": [{"name": "http", "port": port, "targetPort": port}],
        },
    }


def shadow_url(deployment: str, namespace: str, port: int) -> str:
    """``shadow.url`` for the serving sidecars.

    >>> shadow_url("fraud", "ml", 9000)
    'http://fraud-kubedrift-candidate.ml.svc:9000'
    """
    return f"http://{candidate_name(deployment)}.{namespace}.svc:{port}"


def paired_scores(
    serving: Iterable[Mapping[str, Any]], candidate: Iterable[Mapping[str, Any]]
) -> HeldOutScores:
    """Per-row correctness of both models on the rows both labeled (shadow trial).

    Rows (``GET /v1/labeled``: ``features``, ``prediction``, ``label``) pair when their features
    and label are equal; a row without a partner (not mirrored, the shadow failed, the label
    reached one sidecar only) is left out. Equal features mean the same input, so which of
    several equal rows pairs with which does not change either model's answer.

    >>> serving = [{"features": {"x": 1}, "prediction": 0, "label": 1},
    ...            {"features": {"x": 2}, "prediction": 1, "label": 1}]
    >>> shadow = [{"features": {"x": 2}, "prediction": 1, "label": 1},
    ...           {"features": {"x": 1}, "prediction": 1, "label": 1},
    ...           {"features": {"x": 3}, "prediction": 0, "label": 0}]
    >>> paired_scores(serving, shadow)
    HeldOutScores(serving=(False, True), candidate=(True, True))
    """
    waiting: dict[str, list[bool]] = {}
    for row in candidate:
        key = _row_key(row)
        if key is not None:
            waiting.setdefault(key, []).append(_correct(row))
    serving_scores: list[bool] = []
    candidate_scores: list[bool] = []
    for row in serving:
        key = _row_key(row)
        partners = waiting.get(key) if key is not None else None
        if partners:
            serving_scores.append(_correct(row))
            candidate_scores.append(partners.pop(0))
    return HeldOutScores(tuple(serving_scores), tuple(candidate_scores))


def canary_counts(rows: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """``(correct, labeled)`` over one model's labeled rows (canary trial).

    >>> canary_counts([{"prediction": 1, "label": 1}, {"prediction": 0, "label": 1}])
    (1, 2)
    """
    counts: Counter[bool] = Counter(_correct(row) for row in rows if "label" in row)
    return counts[True], counts[True] + counts[False]


def labeled_since(rows: Iterable[_Row], since: float) -> list[_Row]:
    """The rows whose label was joined at ``since`` or later (canary trial: the serving model
    is judged on the same period as the candidate, not on rows from before the trial).

    >>> labeled_since([{"label": 1, "time": 5.0}, {"label": 0, "time": 9.0}, {"label": 1}], 6.0)
    [{'label': 0, 'time': 9.0}]
    """
    return [row for row in rows if float(row.get("time", -math.inf)) >= since]


def answered_by(rows: Iterable[_Row], version: str) -> list[_Row]:
    """The rows a sidecar recorded for model ``version`` (``modelVersion``, set by sidecars
    that know their Pod's version); rows without it are kept (the Pod says which model).

    >>> answered_by([{"modelVersion": "3"}, {"modelVersion": "2"}, {}], "3")
    [{'modelVersion': '3'}, {}]
    """
    return [row for row in rows if row.get("modelVersion", version) == version]


def labeled_path(model: str | None) -> str:
    """The labeled rows a trial reads from each sidecar: those of the monitor's model
    (``spec.target.model``), so a trial on a shared sidecar judges its own model's rows.

    >>> labeled_path("fraud"), labeled_path(None)
    ('/v1/labeled?model=fraud', '/v1/labeled')
    """
    return model_path(LABELED_PATH, model)


def _row_key(row: Mapping[str, Any]) -> str | None:
    if "label" not in row or "features" not in row:
        return None
    return json.dumps([row["features"], row["label"]], sort_keys=True, default=str)


def _correct(row: Mapping[str, Any]) -> bool:
    return bool(row.get("prediction") == row.get("label"))


def _with_version(container: Mapping[str, Any], env_name: str, version: str) -> dict[str, Any]:
    out = dict(container)
    env = [e for e in out.get("env") or [] if e.get("name") != env_name]
    out["env"] = [*env, {"name": env_name, "value": version}]
    return out


TrialVerdict = Literal["Promote", "Reject", "Wait"]
_CANARY_VERDICTS: dict[CanaryVerdict, TrialVerdict] = {
    "Promote": "Promote",
    "RollBack": "Reject",
    "Wait": "Wait",
}


@dataclass(frozen=True)
class TrialDecision:
    """What a live trial decided this round, the sentence for its Event, and the numbers as
    ``status.retraining.gate``."""

    verdict: TrialVerdict
    reason: str
    message: str
    gate: GateStatus


def judge_trial(
    strategy: str,
    promotion: PromotionSpec,
    serving_rows: Iterable[Mapping[str, Any]],
    candidate_rows: Iterable[Mapping[str, Any]],
    *,
    max_rows: int,
    engine: Decision | None = None,
) -> TrialDecision:
    """One round's verdict on a live trial, with the promotion gate's ``margin``, ``confidence``
    and ``minHeldOut``.

    A shadow waits for ``minHeldOut`` paired rows, then the paired gate decides at once
    (promote or reject: the same rule as for the Job's held-out rows). A canary waits for
    ``minHeldOut`` labeled rows of each model and then until
    :func:`~kubedrift.stats.unpaired_comparison.compare_unpaired` decides (an e-process, valid
    at every round's look), at most ``max_rows`` rows each (not shown better by then: rejected).

    ``engine``: the monitor's decision engine stepped on the candidate's own window
    (:func:`engine_objection`); its alarm rejects a candidate the comparison did not reject
    already (a promotion included), with ``gate.result`` ``Alarmed``.
    """
    decision = _compared(strategy, promotion, serving_rows, candidate_rows, max_rows=max_rows)
    objection = engine_objection(engine)
    if objection is None or decision.verdict == "Reject":
        return decision
    reason, why = objection
    gate = GateStatus(**{**decision.gate, "result": "Alarmed"})
    return TrialDecision("Reject", reason, f"{why}; {decision.message}", gate)


def engine_objection(engine: Decision | None) -> tuple[str, str] | None:
    """``(reason, sentence)`` when the engine's step on the candidate's window alarms on what
    the candidate is answerable for: its predictions drifted from its baseline
    (``CandidatePredictionDrift``) or its window's data quality (``CandidateDataQuality``);
    ``None`` otherwise. Feature drift is left out: the candidate sees the same traffic as the
    serving model, whose engine already judges it.
    """
    if engine is None:
        return None
    if engine.prediction_drifted:
        return (
            "CandidatePredictionDrift",
            f"the candidate's predictions drifted from its baseline ({engine.drift.message})",
        )
    if engine.quality.status == "True":
        return (
            "CandidateDataQuality",
            f"the candidate's window has a data-quality alarm, {engine.quality.reason}: "
            f"{engine.quality.message}",
        )
    return None


def _compared(
    strategy: str,
    promotion: PromotionSpec,
    serving_rows: Iterable[Mapping[str, Any]],
    candidate_rows: Iterable[Mapping[str, Any]],
    *,
    max_rows: int,
) -> TrialDecision:
    if strategy == "shadow":
        scores = paired_scores(serving_rows, candidate_rows)
        decision = judge(promotion, scores)
        gate = gate_status(decision)
        if decision.reason == "NotEnoughHeldOutLabels":
            return TrialDecision("Wait", "NotEnoughLabels", decision.summary(), gate)
        verdict: TrialVerdict = "Promote" if decision.promote else "Reject"
        return TrialDecision(verdict, decision.reason, decision.summary(), gate)
    if strategy == "canary":
        k_s, n_s = canary_counts(serving_rows)
        k_c, n_c = canary_counts(candidate_rows)
        canary = compare_unpaired(
            k_s, n_s, k_c, n_c,
            margin=promotion.margin,
            confidence=promotion.confidence,
            min_rows=promotion.min_held_out,
            max_rows=max_rows,
        )  # fmt: skip
        verdict = _CANARY_VERDICTS[canary.verdict]
        return TrialDecision(verdict, canary.reason, canary.summary(), canary_gate_status(canary))
    raise ValueError(f"strategy must be shadow or canary, got {strategy!r}")
