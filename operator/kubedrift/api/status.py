"""The ``ModelMonitor`` status the operator writes, as TypedDicts (the persisted JSON shape).

The CRD's status schema is generated from these types; :data:`DOCS` explains every key (the
descriptions land in the CRD, so ``kubectl explain modelmonitor.status`` shows them, and they are
listed at the end of this docstring). Keys are camelCase because this is the wire shape.
Everything but ``observedGeneration`` and ``phase`` is optional: a monitor that has never been
evaluated has no window, drift or performance yet.

Keys and why they exist:
"""

from __future__ import annotations

from typing import Literal, NewType, NotRequired, TypedDict

from kubedrift.stats.settings import FeatureType, Metric

#: RFC 3339 time in UTC with seconds precision (``2026-11-22T22:48:47Z``), as metav1.Time.
Timestamp = NewType("Timestamp", str)

Phase = Literal[
    "Pending", "Healthy", "Warning", "Drifting", "Degraded", "Retraining", "NoData", "Invalid"
]
ConditionStatus = Literal["True", "False", "Unknown"]
KnownStatus = Literal["True", "False"]
RetrainingResult = Literal["Running", "Succeeded", "Failed", "Rejected", "Trial"]
GateResult = Literal["Promoted", "NotBetter", "NotEnoughHeldOutLabels", "Worse", "Alarmed"]
ModelState = Literal["Serving", "Replaced", "Rejected", "RolledBack"]
RetrainingTrigger = Literal["DriftDetected", "PerformanceDegraded"]

#: Condition types the operator maintains (``status.conditions[].type``).
CONDITION_TYPES = (
    "Ready",
    "DriftDetected",
    "PerformanceDegraded",
    "DataQualityDegraded",
    "Retraining",
)
#: Status lists keyed by one field (``x-kubernetes-list-type: map`` in the CRD).
LIST_MAP_KEYS = {
    "conditions": "type",
    "drift.features": "name",
    "drift.embeddings": "name",
    "segments": "value",
}


class Condition(TypedDict):
    type: str
    status: ConditionStatus
    reason: str
    message: str
    lastTransitionTime: Timestamp
    observedGeneration: NotRequired[int]


class WindowStatus(TypedDict):
    samples: int
    labeled: int
    start: NotRequired[Timestamp]
    end: NotRequired[Timestamp]


class FeatureDriftStatus(TypedDict):
    name: str
    type: NotRequired[FeatureType]
    method: str
    statistic: float
    pValue: NotRequired[float]
    threshold: float
    drifted: bool
    evidence: NotRequired[float]


class PredictionDriftStatus(TypedDict):
    method: str
    statistic: float
    pValue: NotRequired[float]
    threshold: float
    drifted: bool
    evidence: NotRequired[float]


class MultivariateDriftStatus(TypedDict):
    drifted: bool
    evidence: float
    threshold: float
    effect: float


class EmbeddingDriftStatus(TypedDict):
    name: str
    drifted: bool
    evidence: float
    threshold: float
    effect: float
    signals: list[str]


class DriftStatus(TypedDict):
    share: float
    drifted: bool
    features: list[FeatureDriftStatus]
    prediction: NotRequired[PredictionDriftStatus]
    multivariate: NotRequired[MultivariateDriftStatus]
    embeddings: NotRequired[list[EmbeddingDriftStatus]]
    evidenceThreshold: NotRequired[float]


class PerformanceStatus(TypedDict):
    metric: Metric
    value: float
    lowerBound: NotRequired[float]
    upperBound: NotRequired[float]
    threshold: float
    samples: int
    degraded: bool


class EstimatedMetricStatus(TypedDict):
    value: float
    lowerBound: float
    upperBound: float
    realized: NotRequired[float]


class EstimatedPerformanceStatus(TypedDict):
    rows: int
    labeled: int
    accuracy: NotRequired[EstimatedMetricStatus]
    precision: NotRequired[EstimatedMetricStatus]
    recall: NotRequired[EstimatedMetricStatus]
    f1: NotRequired[EstimatedMetricStatus]
    rocAuc: NotRequired[EstimatedMetricStatus]


class SegmentStatus(TypedDict):
    value: str
    verdict: str
    samples: int
    labeled: int
    drifted: bool
    driftedFeatures: list[str]
    share: float
    evidence: float
    evidenceThreshold: float
    degraded: bool
    performance: NotRequired[PerformanceStatus]
    #: The segment's performance estimated without labels (as ``estimatedPerformance``).
    estimatedPerformance: NotRequired[EstimatedPerformanceStatus]


class SidecarsStatus(TypedDict):
    desired: int
    reporting: int


class GateStatus(TypedDict):
    result: GateResult
    heldOut: int
    servingAccuracy: NotRequired[float]
    candidateAccuracy: NotRequired[float]
    candidateOnly: int
    servingOnly: int
    margin: float
    confidence: float
    test: str
    pValue: NotRequired[float]
    servingRows: NotRequired[int]
    candidateRows: NotRequired[int]


class VersionBaselineStatus(TypedDict):
    configMap: str
    key: str
    hash: NotRequired[str]


class ModelVersionStatus(TypedDict):
    version: str
    state: ModelState
    job: NotRequired[str]
    baseline: NotRequired[VersionBaselineStatus]
    gate: NotRequired[GateStatus]
    promotedAt: NotRequired[Timestamp]
    metricValue: NotRequired[float]
    levelToHold: NotRequired[float]


class TrialStatus(TypedDict):
    """The last live trial (``rollout.strategy: shadow`` or ``canary``) of the candidate from
    ``job``; it runs while ``lastResult`` is ``Trial``, and ``result`` says how it ended."""

    strategy: str
    version: str
    job: str
    startedAt: Timestamp
    baseline: NotRequired[VersionBaselineStatus]
    shadowUrl: NotRequired[str]
    pairedRows: NotRequired[int]
    servingRows: NotRequired[int]
    candidateRows: NotRequired[int]
    result: NotRequired[str]
    message: NotRequired[str]


class RetrainingStatus(TypedDict):
    count: int
    lastJob: NotRequired[str]
    lastResult: NotRequired[RetrainingResult]
    lastTrigger: NotRequired[RetrainingTrigger]
    lastStartTime: NotRequired[Timestamp]
    modelVersion: NotRequired[str]
    failures: NotRequired[int]
    gate: NotRequired[GateStatus]
    history: NotRequired[list[ModelVersionStatus]]
    trial: NotRequired[TrialStatus]


class LastKnownStatus(TypedDict):
    driftDetected: NotRequired[KnownStatus]
    performanceDegraded: NotRequired[KnownStatus]
    dataQualityDegraded: NotRequired[KnownStatus]


class BaselineStatus(TypedDict):
    configMap: str
    hash: str


class ModelMonitorStatus(TypedDict):
    observedGeneration: int
    phase: Phase
    target: NotRequired[str]
    conditions: NotRequired[list[Condition]]
    window: NotRequired[WindowStatus]
    drift: NotRequired[DriftStatus]
    performance: NotRequired[PerformanceStatus]
    estimatedPerformance: NotRequired[EstimatedPerformanceStatus]
    segments: NotRequired[list[SegmentStatus]]
    sidecars: NotRequired[SidecarsStatus]
    retraining: NotRequired[RetrainingStatus]
    lastEvaluationTime: NotRequired[Timestamp]
    baseline: NotRequired[BaselineStatus]
    lastKnown: NotRequired[LastKnownStatus]


#: Keys of a promotion gate's verdict (``retraining.gate`` and each history entry's ``gate``).
_GATE_DOCS: dict[str, str] = {
    "result": "Promoted, NotBetter (the gain was not shown at the confidence), "
    "NotEnoughHeldOutLabels, Worse (a canary shown worse than the serving model), or Alarmed "
    "(a live trial's candidate: the monitor's decision engine alarmed on its own window, "
    "predictions drifted or data quality).",
    "heldOut": "Held-out labeled rows both models were scored on.",
    "servingAccuracy": "Serving model's accuracy on them.",
    "candidateAccuracy": "Candidate's accuracy on them.",
    "candidateOnly": "Rows only the candidate got right (paired tests; 0 for a canary).",
    "servingOnly": "Rows only the serving model got right (paired tests; 0 for a canary).",
    "margin": "Accuracy gain required (spec.retraining.promotion.margin).",
    "confidence": "Confidence required (spec.retraining.promotion.confidence).",
    "test": "exact-mcnemar (margin 0) or tango-score (margin above 0); mixture-likelihood-ratio "
    "for a canary (unpaired rows, an anytime-valid sequential test).",
    "pValue": "One-sided p-value of the test; promoted when at most 1 - confidence (a canary: "
    "the anytime-valid p-value 1/e-value of the hypothesis that decided).",
    "servingRows": "A canary: labeled rows the serving model answered (heldOut counts both "
    "models' rows).",
    "candidateRows": "A canary: labeled rows the candidate answered.",
}

#: Every status key (dotted path) and why it exists.
DOCS: dict[str, str] = {
    "observedGeneration": "metadata.generation of the spec this status describes; a lower value "
    "means the operator has not acted on the latest spec yet.",
    "target": "The monitored object as Kind/name (Deployment, StatefulSet or InferenceService), "
    "shown in kubectl get's Target column.",
    "phase": "One-word summary for kubectl get: Pending (no evaluation yet), Healthy, Warning "
    "(warningShare reached), Drifting, Degraded (performance below threshold), Retraining, "
    "NoData (too few samples or no sidecar reporting), Invalid (spec or baseline unusable).",
    "conditions": "metav1.Condition list (Ready, DriftDetected, PerformanceDegraded, "
    "DataQualityDegraded, Retraining); lastTransitionTime changes only when a condition's status "
    "flips. The three alarm conditions are the decision engine's (docs/statistics.md, The "
    "false-alarm contract): an alarm holds until evidence of recovery.",
    "conditions.type": "Condition type.",
    "conditions.status": "True, False or Unknown.",
    "conditions.reason": "CamelCase reason for the last transition.",
    "conditions.message": "Human-readable detail.",
    "conditions.lastTransitionTime": "When status last changed.",
    "conditions.observedGeneration": "Generation the condition was computed for.",
    "window": "The merged window of the last evaluation, so a verdict can be weighed by its data.",
    "window.samples": "Sampled requests in the merged window.",
    "window.labeled": "Of those, how many have a joined label.",
    "window.start": "Oldest sample's time.",
    "window.end": "Newest sample's time.",
    "drift": "Result of the last drift evaluation.",
    "drift.share": "Share of watched features whose drift alarm holds (what driftShare is "
    "compared with).",
    "drift.drifted": "Whether the dataset as a whole drifted (DriftDetected is True).",
    "drift.evidenceThreshold": "Log e-value every detector must reach to alarm: ln(A T / "
    "interval) for A detector alternatives and the contract's mean time T between false alarms.",
    "drift.features": "Per-feature results, keyed by name, so users see which feature moved.",
    "drift.features.name": "Feature name.",
    "drift.features.type": "numeric or categorical.",
    "drift.features.method": "Test or distance that was used.",
    "drift.features.statistic": "Test statistic or distance.",
    "drift.features.pValue": "p-value (corrected) for p-value tests; absent for distances.",
    "drift.features.threshold": "Threshold the feature was judged against.",
    "drift.features.drifted": "Whether this feature's drift alarm holds (the engine's verdict; "
    "statistic and pValue describe the current window).",
    "drift.features.evidence": "Largest CUSUM statistic (log e-value) of the feature's "
    "detectors; it alarms at drift.evidenceThreshold.",
    "drift.prediction": "Drift of the model's predictions.",
    "drift.prediction.method": "Test or distance that was used.",
    "drift.prediction.statistic": "Test statistic or distance.",
    "drift.prediction.pValue": "p-value for p-value tests; absent for distances.",
    "drift.prediction.threshold": "Threshold the predictions were judged against.",
    "drift.prediction.drifted": "Whether the predictions' drift alarm holds.",
    "drift.prediction.evidence": "Largest CUSUM statistic of the predictions' detectors.",
    "drift.multivariate": "The multivariate signal: the PCA reconstruction error of the "
    "standardized numeric features, judged by the decision engine (docs/statistics.md, "
    "Multivariate drift); present when the baseline holds a PCA fit and "
    "spec.drift.multivariate.enabled.",
    "drift.multivariate.drifted": "Whether its drift alarm holds; it sets DriftDetected alone "
    "(reason MultivariateDrift).",
    "drift.multivariate.evidence": "Largest CUSUM statistic (log e-value) of its detectors.",
    "drift.multivariate.threshold": "Log e-value at which it alarms (drift.evidenceThreshold).",
    "drift.multivariate.effect": "Largest gap between the binned cumulative distributions of "
    "the reconstruction error now and in the reference (the effect size gated by minEffect).",
    "drift.embeddings": "The embedding blocks (wide inputs), each judged through its "
    "principal-component scores, norm and reconstruction error by the decision engine "
    "(docs/statistics.md, Embeddings); present when the baseline holds a block and "
    "spec.drift.embeddings.enabled.",
    "drift.embeddings.name": "The block's name: the tensor or field it arrives as.",
    "drift.embeddings.drifted": "Whether any of its signals' drift alarm holds; it sets "
    "DriftDetected alone (reason EmbeddingDrift).",
    "drift.embeddings.evidence": "Largest CUSUM statistic (log e-value) of its signals.",
    "drift.embeddings.threshold": "Log e-value at which a signal alarms.",
    "drift.embeddings.effect": "Largest gap between the binned cumulative distributions of a "
    "signal now and in the reference.",
    "drift.embeddings.signals": "Its signals in alarm: pc1 .. pcK (principal-component "
    "scores), norm, reconstruction-error.",
    "segments": "Per-segment results (spec.segments): one entry per judged value, at most 20, "
    "each judged by its own engine against its own training rows (docs/statistics.md, "
    "Segments). A segment's alarm does not set the monitor's conditions.",
    "segments.value": "The segment: a value of spec.segments.feature.",
    "segments.verdict": "ok, warning, drift, nodata (fewer than window.minSamples rows in the "
    "segment's window and no alarm) or noreference (a listed value the baseline holds no "
    "profile for: not judged).",
    "segments.samples": "Rows of the segment in the window its engine reads.",
    "segments.labeled": "Labeled rows of the segment in that window.",
    "segments.drifted": "Whether the segment's drift alarm holds (its features' share reached "
    "driftShare, or its predictions or multivariate signal alarmed).",
    "segments.driftedFeatures": "Features whose drift alarm holds in the segment.",
    "segments.share": "Share of the segment's watched features whose alarm holds.",
    "segments.evidence": "Largest CUSUM statistic (log e-value) of the segment's drift detectors.",
    "segments.evidenceThreshold": "Log e-value at which the segment's detectors alarm (its "
    "share of the false-alarm budget).",
    "segments.degraded": "Whether the segment's performance alarm holds (its error rate or "
    "windowed metric, with spec.performance).",
    "segments.performance": "The segment's metric from its labeled rows, as status.performance.",
    "segments.performance.metric": "Metric name, as in spec.performance.metric.",
    "segments.performance.value": "Point estimate.",
    "segments.performance.lowerBound": "Lower confidence bound.",
    "segments.performance.upperBound": "Upper confidence bound.",
    "segments.performance.threshold": "spec.performance.threshold.",
    "segments.performance.samples": "Labeled rows the metric is over.",
    "segments.performance.degraded": "Whether the segment's performance alarm holds.",
    "segments.estimatedPerformance": "The segment's performance estimated without labels from "
    "its rows' class probabilities through the monitor's calibration maps, as "
    "estimatedPerformance; reported, never an alarm.",
    "segments.estimatedPerformance.rows": "Rows of the segment's window whose responses carried "
    "probabilities.",
    "segments.estimatedPerformance.labeled": "Labeled rows of the segment's window the realized "
    "values are over.",
    **{
        f"segments.estimatedPerformance.{name}{key}": text
        for name in ("accuracy", "precision", "recall", "f1", "rocAuc")
        for key, text in (
            ("", f"The segment's estimated {name}, as in estimatedPerformance."),
            (".value", "Estimate."),
            (".lowerBound", "Lower end of the band at spec.performance.confidence."),
            (".upperBound", "Upper end of the band at spec.performance.confidence."),
            (".realized", "The same metric from the segment's joined labels."),
        )
    },
    "performance": "Metric computed from labeled predictions in the window.",
    "performance.metric": "Metric name, as in spec.performance.metric.",
    "performance.value": "Point estimate.",
    "performance.lowerBound": "Lower confidence bound at spec.performance.confidence.",
    "performance.upperBound": "Upper confidence bound at spec.performance.confidence.",
    "performance.threshold": "Threshold from the spec, repeated so the status reads alone.",
    "performance.samples": "Labeled samples the metric is computed from.",
    "performance.degraded": "Whether the bound crossed the threshold with enough samples.",
    "estimatedPerformance": "Performance estimated without labels from the model's calibrated "
    "class probabilities (spec.capture.probabilities and a baseline built with --probabilities), "
    "next to the realized value once labels exist.",
    "estimatedPerformance.rows": "Rows of the window whose responses carried probabilities.",
    "estimatedPerformance.labeled": "Labeled rows of the window the realized values are over.",
    **{
        f"estimatedPerformance.{name}{key}": text
        for name in ("accuracy", "precision", "recall", "f1", "rocAuc")
        for key, text in (
            ("", f"Estimated {name} (binary: of the second class; macro average otherwise)."),
            (".value", "Estimate."),
            (".lowerBound", "Lower end of the band at spec.performance.confidence."),
            (".upperBound", "Upper end of the band at spec.performance.confidence."),
            (".realized", "The same metric from joined labels (absent without labels)."),
        )
    },
    "sidecars": "How many sidecars the last evaluation expected and heard from; a gap explains "
    "NoData and partial windows.",
    "sidecars.desired": "Ready pods of the target Deployment.",
    "sidecars.reporting": "Of those, sidecars that returned a window.",
    "retraining": "The retraining loop's history, so cooldown and rollout survive restarts.",
    "retraining.count": "Retraining Jobs started so far.",
    "retraining.lastJob": "Name of the most recent Job.",
    "retraining.lastResult": "Running, Succeeded, Failed, Rejected (the promotion gate kept "
    "the serving model), or Trial (a shadow or canary of the candidate runs, see "
    "retraining.trial).",
    "retraining.lastTrigger": "Trigger that started it.",
    "retraining.lastStartTime": "When it started (the cooldown counts from here).",
    "retraining.modelVersion": "Model version last rolled out to the target.",
    "retraining.failures": "Consecutive failed Jobs; each failure after the first doubles the "
    "cooldown before the next Job (at most 8x). A success resets it.",
    "retraining.gate": "The promotion gate's verdict on the last Job's candidate "
    "(spec.retraining.promotion).",
    **{f"retraining.gate.{key}": text for key, text in _GATE_DOCS.items()},
    "retraining.history": "The last model versions (newest first, at most 5; the serving "
    "version and its predecessor are always kept), with their baselines, gate results and live "
    "metric.",
    "retraining.history.version": "Model version.",
    "retraining.history.state": "Serving, Replaced (a later version was promoted), Rejected (by "
    "the gate, never served) or RolledBack.",
    "retraining.history.job": "Retraining Job that produced it.",
    "retraining.history.baseline": "Its baseline's source ConfigMap, restored on a rollback to it.",
    "retraining.history.baseline.configMap": "ConfigMap name.",
    "retraining.history.baseline.key": "Key in the ConfigMap.",
    "retraining.history.baseline.hash": "SHA-256 of the baseline JSON when it was in force.",
    "retraining.history.gate": "The gate's verdict on this version.",
    **{f"retraining.history.gate.{key}": text for key, text in _GATE_DOCS.items()},
    "retraining.history.promotedAt": "When it was promoted (the rollback watch counts from here).",
    "retraining.history.metricValue": "Last live value of spec.performance.metric while it served.",
    "retraining.history.levelToHold": "Its predecessor's last live metric value: within "
    "watchPeriod after the promotion, a confidence interval entirely worse than this rolls it "
    "back.",
    "retraining.trial": "The last live trial (rollout.strategy shadow or canary): the candidate "
    "ran beside the serving model on copies of the sampled requests (shadow) or on a share of "
    "the traffic (canary); it runs while lastResult is Trial.",
    "retraining.trial.strategy": "shadow or canary.",
    "retraining.trial.version": "The candidate's model version.",
    "retraining.trial.job": "Retraining Job that produced it.",
    "retraining.trial.startedAt": "When the trial began.",
    "retraining.trial.baseline": "The candidate's baseline, adopted if it is promoted.",
    "retraining.trial.baseline.configMap": "ConfigMap name.",
    "retraining.trial.baseline.key": "Key in the ConfigMap.",
    "retraining.trial.baseline.hash": "SHA-256 of the baseline JSON (unused here).",
    "retraining.trial.shadowUrl": "Where the serving sidecars copy sampled requests (the "
    "candidate Service's ClusterIP and the sidecar port).",
    "retraining.trial.pairedRows": "Shadow: live labeled rows both models answered so far.",
    "retraining.trial.servingRows": "Canary: live labeled rows the serving model answered.",
    "retraining.trial.candidateRows": "Canary: live labeled rows the candidate answered.",
    "retraining.trial.result": "Promoted, Rejected, or TimedOut (rollout.trialTimeout passed "
    "before the gate could decide; the serving model stays).",
    "retraining.trial.message": "The gate's decision in one sentence.",
    "lastEvaluationTime": "When the operator last evaluated the window.",
    "baseline": "The baseline the last evaluation used.",
    "baseline.configMap": "ConfigMap name.",
    "baseline.hash": "SHA-256 of the baseline JSON, to notice when it changes.",
    "lastKnown": "The last True or False status of each alarm condition, kept while the "
    "condition is Unknown (fresh windows after a rollout), so that a recovery is announced "
    "when the evidence returns.",
    "lastKnown.driftDetected": "DriftDetected's last known status.",
    "lastKnown.performanceDegraded": "PerformanceDegraded's last known status.",
    "lastKnown.dataQualityDegraded": "DataQualityDegraded's last known status.",
}

__doc__ = (__doc__ or "") + "\n".join(f"- ``{key}``: {text}" for key, text in DOCS.items())
