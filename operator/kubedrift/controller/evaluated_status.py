"""``status`` of a ModelMonitor from one evaluation: phase, conditions and results (pure).

:func:`evaluated_status` turns an :class:`Observation` (the merged evaluation plus how many
sidecars answered) into the status to patch. Phase, in order of precedence:

- ``NoData``: no sidecar reported, or the window is below ``window.minSamples`` and no alarm
  holds: too little data is never an alarm;
- ``Retraining`` while a retraining Job runs;
- ``Degraded`` while ``PerformanceDegraded`` is True;
- ``Drifting`` while ``DriftDetected`` is True, ``Warning`` when some features alarmed below
  ``driftShare``, else ``Healthy``.

The alarm conditions (``DriftDetected``, ``PerformanceDegraded``, ``DataQualityDegraded``) are
the decision engine's (``kubedrift.stats.engine``): an alarm holds until evidence of recovery,
also through a round in which no sidecar answers. Without an alarm they are ``Unknown`` while
there is too little data (samples or labels) or no sidecar answers, so a transition to ``True``
always means evidence. The per-feature ``drifted`` flags in ``status.drift`` are the engine's
too; the statistics and p-values beside them describe the window users read.
:func:`invalid_status` is the status of a monitor whose spec or referenced objects are unusable
(``Ready=False``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from kubedrift.api.conditions import find_condition, set_condition
from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.api.status import (
    Condition,
    ConditionStatus,
    DriftStatus,
    EmbeddingDriftStatus,
    EstimatedMetricStatus,
    EstimatedPerformanceStatus,
    FeatureDriftStatus,
    LastKnownStatus,
    ModelMonitorStatus,
    MultivariateDriftStatus,
    PerformanceStatus,
    Phase,
    PredictionDriftStatus,
    SegmentStatus,
    WindowStatus,
)
from kubedrift.controller.timestamps import to_timestamp
from kubedrift.stats.engine.engine import ConditionState, Decision
from kubedrift.stats.engine.segmented import SegmentDecision
from kubedrift.stats.estimates import SideBySide
from kubedrift.stats.evaluation import Evaluation, FeatureResult
from kubedrift.stats.performance import PerformanceResult

#: Largest finite float JSON can carry; infinite statistics are clamped to it.
_MAX_FLOAT = 1.7976931348623157e308


@dataclass(frozen=True)
class Observation:
    """One evaluation round: the merged window's evaluation and who contributed to it.

    ``evaluation`` is ``None`` when no sidecar returned a window; ``decision`` is the engine's
    (the operator always steps one; without it there is no verdict: ``nodata``).
    """

    evaluation: Evaluation | None
    desired: int
    reporting: int
    window_start: float | None = None
    window_end: float | None = None
    decision: Decision | None = None
    #: Metrics estimated without labels, next to the realized ones (``stats.estimates``).
    estimated: Mapping[str, SideBySide] = field(default_factory=dict)
    #: Each judged segment's decision (``spec.segments``).
    segments: tuple[SegmentDecision, ...] = ()

    @property
    def degraded(self) -> bool:
        d = self.decision
        return d is not None and d.performance is not None and d.performance.status == "True"

    @property
    def drifting(self) -> bool:
        return self.decision is not None and self.decision.drift.status == "True"

    @property
    def alarmed(self) -> bool:
        d = self.decision
        return self.degraded or self.drifting or (d is not None and d.quality.status == "True")

    @property
    def has_data(self) -> bool:
        """An alarm holds, or the engine decided on a window with enough data."""
        e = self.evaluation
        return self.alarmed or (self.decision is not None and e is not None and e.enough_data)

    @property
    def verdict(self) -> str:
        """``ok``, ``warning`` or ``drift`` as the engine decided, or ``nodata``."""
        if self.decision is None or not self.has_data:
            return "nodata"
        return self.decision.verdict


def phase_of(observation: Observation, retraining_running: bool) -> Phase:
    """The one-word phase; see the module docstring for the precedence."""
    if retraining_running:
        return "Retraining"
    if not observation.has_data:
        return "NoData"
    if observation.degraded:
        return "Degraded"
    if observation.drifting:
        return "Drifting"
    if observation.verdict == "warning":
        return "Warning"
    return "Healthy"


def evaluated_status(
    previous: Mapping[str, Any],
    observation: Observation,
    spec: ModelMonitorSpec,
    *,
    generation: int,
    now: datetime,
) -> ModelMonitorStatus:
    """The full status after an evaluation, keeping ``retraining`` and ``baseline`` as they are."""
    conditions: list[Condition] = list(previous.get("conditions") or [])
    reporting = f"{observation.reporting} of {observation.desired} sidecars reporting"
    if spec.segments is not None and not observation.segments:
        feature = spec.segments.feature
        reporting += (
            f"; no segments judged: the baseline profiles no segments of {feature} "
            f"(kubedrift baseline build --segment {feature})"
        )
    conditions = set_condition(
        conditions, "Ready", "True", "Monitoring", reporting, generation, now
    )
    decision = observation.decision
    alarms: dict[str, ConditionState | None] = {
        "DriftDetected": None if decision is None else decision.drift,
        "PerformanceDegraded": None if decision is None else decision.performance,
        "DataQualityDegraded": None if decision is None else decision.quality,
    }
    if spec.performance is None:
        del alarms["PerformanceDegraded"]
    for type_, state in alarms.items():
        conditions = set_condition(
            conditions, type_, *_engine_condition(observation, state), generation, now
        )
    running = (previous.get("retraining") or {}).get("lastResult") == "Running"
    status = ModelMonitorStatus(
        observedGeneration=generation,
        phase=phase_of(observation, running),
        conditions=conditions,
        sidecars={"desired": observation.desired, "reporting": observation.reporting},
        lastEvaluationTime=to_timestamp(now.timestamp()),
    )
    evaluation = observation.evaluation
    if evaluation is not None:
        window = WindowStatus(samples=evaluation.samples, labeled=evaluation.labeled)
        if observation.window_start is not None and evaluation.samples:
            window["start"] = to_timestamp(observation.window_start)
        if observation.window_end is not None and evaluation.samples:
            window["end"] = to_timestamp(observation.window_end)
        status["window"] = window
        if decision is not None and (evaluation.enough_data or observation.drifting):
            status["drift"] = drift_status(evaluation, decision)
        performance = performance_status(evaluation)
        if performance is not None:
            status["performance"] = performance
    if observation.estimated:
        status["estimatedPerformance"] = estimated_status(observation.estimated)
    if observation.segments:
        status["segments"] = [segment_status(s) for s in observation.segments]
    for key in ("retraining", "baseline", "target"):
        if key in previous:
            status[key] = previous[key]
    last_known = last_known_status(previous.get("lastKnown"), conditions)
    if last_known:
        status["lastKnown"] = last_known
    return status


#: Alarm conditions and their key in ``status.lastKnown``.
ALARMS = {
    "DriftDetected": "driftDetected",
    "PerformanceDegraded": "performanceDegraded",
    "DataQualityDegraded": "dataQualityDegraded",
}


def last_known_status(
    previous: Mapping[str, Any] | None, conditions: Sequence[Condition]
) -> LastKnownStatus:
    """``status.lastKnown``: each alarm condition's latest True/False, kept while it is Unknown.

    >>> last_known_status({"driftDetected": "True"}, [
    ...     {"type": "DriftDetected", "status": "Unknown", "reason": "NotEnoughData",
    ...      "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}])
    {'driftDetected': 'True'}
    """
    known: dict[str, str] = {}
    for kind, key in ALARMS.items():
        status = condition_status(conditions, kind)
        if status in {"True", "False"}:
            known[key] = status
        elif previous and previous.get(key) in {"True", "False"}:
            known[key] = previous[key]
    return cast(LastKnownStatus, known)


def invalid_status(
    previous: Mapping[str, Any], reason: str, message: str, *, generation: int, now: datetime
) -> dict[str, Any]:
    """A status patch for an unusable monitor: ``Ready=False`` with the reason, phase Invalid."""
    conditions = set_condition(
        list(previous.get("conditions") or []), "Ready", "False", reason, message, generation, now
    )
    return {"observedGeneration": generation, "phase": "Invalid", "conditions": conditions}


def drift_status(evaluation: Evaluation, decision: Decision) -> DriftStatus:
    """``status.drift``: the window's tests, with the engine's verdicts and evidence."""
    alarmed = set(decision.drifted)
    evidence = {s.name: s for s in decision.signals if s.kind == "drift"}
    status = DriftStatus(
        share=_summary(decision.share),
        drifted=decision.drift.status == "True",
        features=[_feature(f, alarmed, evidence) for f in evaluation.features],
        evidenceThreshold=_summary(decision.threshold),
    )
    if evaluation.prediction is not None:
        p = evaluation.prediction
        prediction = PredictionDriftStatus(
            method=p.method,
            statistic=_finite(p.statistic),
            threshold=_finite(p.threshold),
            drifted=decision.prediction_drifted,
        )
        if p.name in evidence:
            prediction["evidence"] = _summary(evidence[p.name].statistic)
        if p.p_value is not None:
            prediction["pValue"] = _finite(p.p_value)
        status["prediction"] = prediction
    multivariate = next((s for s in decision.signals if s.kind == "multivariate"), None)
    if multivariate is not None:
        status["multivariate"] = MultivariateDriftStatus(
            drifted=multivariate.alarmed,
            evidence=_summary(multivariate.statistic),
            threshold=_summary(multivariate.threshold),
            effect=_summary(multivariate.effect),
        )
    embeddings = embedding_status(decision)
    if embeddings:
        status["embeddings"] = embeddings
    return status


def embedding_status(decision: Decision | None) -> list[EmbeddingDriftStatus]:
    """One entry per embedding block the engine judges (``stats.embedding``), in its order."""
    blocks: dict[str, EmbeddingDriftStatus] = {}
    for signal in decision.signals if decision is not None else ():
        if signal.kind != "embedding":
            continue
        _, name, column = signal.name.split("/", 2)
        entry = blocks.setdefault(
            name,
            EmbeddingDriftStatus(
                name=name,
                drifted=False,
                evidence=0.0,
                threshold=_summary(signal.threshold),
                effect=0.0,
                signals=[],
            ),
        )
        entry["evidence"] = max(entry["evidence"], _summary(signal.statistic))
        entry["effect"] = max(entry["effect"], _summary(signal.effect))
        if signal.alarmed:
            entry["drifted"] = True
            entry["signals"].append(column)
    return list(blocks.values())


def performance_status(evaluation: Evaluation) -> PerformanceStatus | None:
    result = evaluation.performance
    if result is None:
        return None
    return _performance_entry(result, result.degraded)


def _performance_entry(result: PerformanceResult, degraded: bool) -> PerformanceStatus | None:
    """``status.performance`` (or a segment's ``performance``) from a windowed metric, ``None``
    while it has no value; ``degraded`` is the verdict of whoever judged it."""
    if result.value is None:
        return None
    status = PerformanceStatus(
        metric=result.metric,
        value=_summary(result.value),
        threshold=result.threshold,
        samples=result.samples,
        degraded=degraded,
    )
    if result.lower_bound is not None:
        status["lowerBound"] = _summary(result.lower_bound)
    if result.upper_bound is not None:
        status["upperBound"] = _summary(result.upper_bound)
    return status


def segment_status(segment: SegmentDecision) -> SegmentStatus:
    """One entry of ``status.segments``: the segment's verdict, alarms, evidence and metric."""
    decision = segment.decision
    status = SegmentStatus(
        value=segment.value,
        verdict=segment.verdict,
        samples=segment.samples,
        labeled=segment.labeled,
        drifted=segment.drifted,
        driftedFeatures=list(decision.drifted) if decision is not None else [],
        share=_summary(decision.share if decision is not None else 0.0),
        evidence=_summary(segment.evidence),
        evidenceThreshold=_summary(decision.threshold if decision is not None else 0.0),
        degraded=segment.degraded,
    )
    performance = (
        _performance_entry(segment.performance, segment.degraded)
        if segment.performance is not None
        else None
    )
    if performance is not None:
        status["performance"] = performance
    if segment.estimated:
        status["estimatedPerformance"] = estimated_status(segment.estimated)
    return status


def estimated_status(table: Mapping[str, SideBySide]) -> EstimatedPerformanceStatus:
    """``status.estimatedPerformance`` from the estimated and realized metrics."""
    first = next(iter(table.values()))
    status = EstimatedPerformanceStatus(rows=first.rows, labeled=first.labeled)
    for name, entry in table.items():
        metric = EstimatedMetricStatus(
            value=_summary(entry.estimate.value),
            lowerBound=_summary(entry.estimate.lower),
            upperBound=_summary(entry.estimate.upper),
        )
        if entry.realized is not None:
            metric["realized"] = _summary(entry.realized)
        status[_ESTIMATED_KEYS[name]] = metric  # type: ignore[literal-required]
    return status


_ESTIMATED_KEYS = {
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "f1",
    "roc-auc": "rocAuc",
}


def condition_status(conditions: Sequence[Condition], type_: str) -> ConditionStatus | None:
    found = find_condition(conditions, type_)
    return None if found is None else found["status"]


def _engine_condition(
    observation: Observation, state: ConditionState | None
) -> tuple[ConditionStatus, str, str]:
    """An engine condition; an alarm holds through a round without sidecars, anything else
    then reads ``Unknown``."""
    if state is not None and state.status == "True":
        return state.status, state.reason, state.message
    if observation.evaluation is None or state is None:
        return "Unknown", "NoSidecarReporting", "no sidecar returned a window"
    return state.status, state.reason, state.message


def _feature(
    f: FeatureResult, alarmed: set[str], evidence: Mapping[str, Any]
) -> FeatureDriftStatus:
    status = FeatureDriftStatus(
        name=f.name,
        method=f.method,
        statistic=_finite(f.statistic),
        threshold=_finite(f.threshold),
        drifted=f.name in alarmed,
    )
    if f.name in evidence:
        status["evidence"] = _summary(evidence[f.name].statistic)
    if f.type in ("numeric", "categorical"):
        status["type"] = f.type  # type: ignore[typeddict-item]
    if f.p_value is not None:
        status["pValue"] = _finite(f.p_value)
    return status


def _finite(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return max(-_MAX_FLOAT, min(_MAX_FLOAT, float(value)))


def _summary(value: float) -> float:
    """A share, metric value or bound as ``kubectl get`` shows it: four decimals are plenty."""
    return round(_finite(value), 4)
