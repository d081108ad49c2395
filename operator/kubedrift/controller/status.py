"""``status`` of a ModelMonitor from one evaluation: phase, conditions and results (pure).

:func:`evaluated_status` turns an :class:`Observation` (the merged evaluation plus how many
sidecars answered) into the status to patch. Phase, in order of precedence:

- ``NoData``: no sidecar reported, or the window is below ``window.minSamples`` and performance
  is not (yet) degraded: too little data is never an alarm;
- ``Retraining`` while a retraining Job runs;
- ``Degraded`` when the performance bound crossed its threshold;
- ``Drifting`` on a drift verdict, ``Warning`` on a warning verdict, else ``Healthy``.

``DriftDetected`` and ``PerformanceDegraded`` are ``Unknown`` while there is too little data
(samples or labels), so a transition to ``True`` always means evidence. :func:`invalid_status`
is the status of a monitor whose spec or referenced objects are unusable (``Ready=False``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from kubedrift.api.conditions import find_condition, set_condition
from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.api.status import (
    Condition,
    ConditionStatus,
    DriftStatus,
    FeatureDriftStatus,
    LastKnownStatus,
    ModelMonitorStatus,
    PerformanceStatus,
    Phase,
    PredictionDriftStatus,
    WindowStatus,
)
from kubedrift.controller.timestamps import to_timestamp
from kubedrift.stats.evaluation import Evaluation, FeatureResult

#: Largest finite float JSON can carry; infinite statistics are clamped to it.
_MAX_FLOAT = 1.7976931348623157e308


@dataclass(frozen=True)
class Observation:
    """One evaluation round: the merged window's evaluation and who contributed to it.

    ``evaluation`` is ``None`` when no sidecar returned a window.
    """

    evaluation: Evaluation | None
    desired: int
    reporting: int
    window_start: float | None = None
    window_end: float | None = None

    @property
    def has_data(self) -> bool:
        e = self.evaluation
        return e is not None and (e.enough_data or e.degraded)


def phase_of(observation: Observation, retraining_running: bool) -> Phase:
    """The one-word phase; see the module docstring for the precedence."""
    evaluation = observation.evaluation
    if evaluation is None or not observation.has_data:
        return "Retraining" if retraining_running else "NoData"
    if retraining_running:
        return "Retraining"
    if evaluation.degraded:
        return "Degraded"
    if evaluation.verdict == "drift":
        return "Drifting"
    if evaluation.verdict == "warning":
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
    conditions = set_condition(
        conditions, "Ready", "True", "Monitoring", reporting, generation, now
    )
    conditions = set_condition(
        conditions, "DriftDetected", *_drift_condition(observation, spec), generation, now
    )
    if spec.performance is not None:
        conditions = set_condition(
            conditions,
            "PerformanceDegraded",
            *_performance_condition(observation, spec.performance.min_labeled_samples),
            generation,
            now,
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
        if evaluation.enough_data:
            status["drift"] = drift_status(evaluation)
        performance = performance_status(evaluation)
        if performance is not None:
            status["performance"] = performance
    for key in ("retraining", "baseline"):
        if key in previous:
            status[key] = previous[key]
    last_known = last_known_status(previous.get("lastKnown"), conditions)
    if last_known:
        status["lastKnown"] = last_known
    return status


#: Alarm conditions and their key in ``status.lastKnown``.
ALARMS = {"DriftDetected": "driftDetected", "PerformanceDegraded": "performanceDegraded"}


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


def drift_status(evaluation: Evaluation) -> DriftStatus:
    status = DriftStatus(
        share=_summary(evaluation.share),
        drifted=evaluation.drift,
        features=[_feature(f) for f in evaluation.features],
    )
    if evaluation.prediction is not None:
        p = evaluation.prediction
        prediction = PredictionDriftStatus(
            method=p.method,
            statistic=_finite(p.statistic),
            threshold=_finite(p.threshold),
            drifted=p.drifted,
        )
        if p.p_value is not None:
            prediction["pValue"] = _finite(p.p_value)
        status["prediction"] = prediction
    return status


def performance_status(evaluation: Evaluation) -> PerformanceStatus | None:
    result = evaluation.performance
    if result is None or result.value is None:
        return None
    status = PerformanceStatus(
        metric=result.metric,
        value=_summary(result.value),
        threshold=result.threshold,
        samples=result.samples,
        degraded=result.degraded,
    )
    if result.lower_bound is not None:
        status["lowerBound"] = _summary(result.lower_bound)
    if result.upper_bound is not None:
        status["upperBound"] = _summary(result.upper_bound)
    return status


def condition_status(conditions: Sequence[Condition], type_: str) -> ConditionStatus | None:
    found = find_condition(conditions, type_)
    return None if found is None else found["status"]


def _drift_condition(
    observation: Observation, spec: ModelMonitorSpec
) -> tuple[ConditionStatus, str, str]:
    e = observation.evaluation
    if e is None:
        return "Unknown", "NoSidecarReporting", "no sidecar returned a window"
    if not e.enough_data:
        return (
            "Unknown",
            "NotEnoughData",
            f"{e.samples} samples in the window, {spec.window.min_samples} needed",
        )
    drifted = [f.name for f in e.features if f.drifted]
    summary = f"{len(drifted)} of {len(e.features)} features drifted (share {e.share:.2f})"
    if drifted:
        summary += ": " + ", ".join(drifted)
    prediction = e.prediction is not None and e.prediction.drifted
    if e.drift:
        reason = "PredictionDrift" if prediction and e.share < spec.drift.drift_share else "Drift"
        return "True", reason, summary + ("; predictions drifted" if prediction else "")
    return "False", "NoDrift" if not drifted else "BelowDriftShare", summary


def _performance_condition(
    observation: Observation, minimum: int
) -> tuple[ConditionStatus, str, str]:
    e = observation.evaluation
    result = None if e is None else e.performance
    if result is None or result.value is None:
        return "Unknown", "NoLabels", "no labeled predictions in the window"
    text = f"{result.metric} {result.value:.4f} over {result.samples} labels"
    if result.degraded:
        return "True", "ThresholdCrossed", f"{text}; its bound crossed {result.threshold}"
    if result.samples < minimum:
        return "Unknown", "NotEnoughLabels", f"{text}, {minimum} needed"
    return "False", "WithinThreshold", f"{text}; threshold {result.threshold}"


def _feature(f: FeatureResult) -> FeatureDriftStatus:
    status = FeatureDriftStatus(
        name=f.name,
        method=f.method,
        statistic=_finite(f.statistic),
        threshold=_finite(f.threshold),
        drifted=f.drifted,
    )
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
