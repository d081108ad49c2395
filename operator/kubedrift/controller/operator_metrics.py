"""Prometheus metrics of the operator process.

Use :func:`make_metrics` once per process with the registry to expose (tests pass a fresh
``CollectorRegistry``) and call the recording methods from the evaluation loop::

    metrics = make_metrics(CollectorRegistry())
    metrics.record_evaluation("ml", "fraud-model", result="drift", seconds=0.2, ...)

Per-monitor series carry the namespace and monitor names (bounded by the number of monitors),
never payload values, so an alert can name the model. A monitor's counters start at zero for
every result the first time it is recorded (``increase()`` then sees its first event), and all
its series are removed when the monitor is deleted (:meth:`forget`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from kubedrift.controller.conflicts import WRITES
from kubedrift.controller.segment_metrics import SegmentMetrics

#: Evaluation results counted by ``kubedrift_operator_evaluations_total``.
EVALUATION_RESULTS = ("ok", "warning", "drift", "degraded", "nodata", "error")
#: Retraining results counted by ``kubedrift_operator_retrainings_total``.
RETRAINING_RESULTS = ("started", "succeeded", "failed")
#: Conditions exported by ``kubedrift_monitor_condition`` and the states each can take.
ALARM_CONDITIONS = ("DriftDetected", "PerformanceDegraded", "DataQualityDegraded")
CONDITION_STATES = ("True", "False", "Unknown")
#: Promotion gate and rollback decisions counted by
#: ``kubedrift_operator_promotion_decisions_total``.
PROMOTION_DECISIONS = ("promoted", "rejected", "not_enough_held_out", "rolled_back")
#: Merged label outcomes counted by ``kubedrift_operator_labels_total`` (the sidecar's outcomes).
LABEL_OUTCOMES = ("joined", "unknown", "expired", "duplicate", "invalid")
#: ``bound`` label values of ``kubedrift_monitor_estimated_metric``.
ESTIMATE_BOUNDS = ("value", "lower", "upper")


@dataclass(frozen=True)
class OperatorMetrics:
    evaluations: Counter
    evaluation_duration: Histogram
    drift_share: Gauge
    metric_value: Gauge
    retrainings: Counter
    promotions: Counter
    sidecars: Gauge
    conflicts: Counter
    labels: Counter
    api_requests: Counter
    condition: Gauge
    #: ``kubedrift_monitor_multivariate_evidence``: the multivariate signal's log e-value.
    multivariate_evidence: Gauge
    #: ``kubedrift_monitor_embedding_evidence``: each embedding block's largest log e-value
    #: (one series per block of the baseline, a handful at most).
    embedding_evidence: Gauge
    #: ``kubedrift_monitor_estimated_metric``; created by :func:`make_metrics` when asked.
    estimated: Gauge | None = None
    #: The ``kubedrift_monitor_segment_*`` gauges (``spec.segments``).
    segments: SegmentMetrics | None = None
    #: (namespace, monitor) pairs whose counters exist, every result at zero or more.
    _known: set[tuple[str, str]] = field(default_factory=set)

    def record_evaluation(
        self,
        namespace: str,
        monitor: str,
        *,
        result: str,
        seconds: float,
        desired: int,
        reporting: int,
        drift_share: float | None = None,
        metric: str | None = None,
        metric_value: float | None = None,
        multivariate_evidence: float | None = None,
        embedding_evidence: Mapping[str, float] | None = None,
    ) -> None:
        """Count one evaluation and update the monitor's gauges."""
        self._start(namespace, monitor)
        self.evaluations.labels(namespace, monitor, result).inc()
        self.evaluation_duration.observe(seconds)
        self.sidecars.labels(namespace, monitor, "desired").set(desired)
        self.sidecars.labels(namespace, monitor, "reporting").set(reporting)
        if drift_share is not None:
            self.drift_share.labels(namespace, monitor).set(drift_share)
        if metric is not None and metric_value is not None:
            self.metric_value.labels(namespace, monitor, metric).set(metric_value)
        if multivariate_evidence is not None:
            self.multivariate_evidence.labels(namespace, monitor).set(multivariate_evidence)
        for block, value in (embedding_evidence or {}).items():
            self.embedding_evidence.labels(namespace, monitor, block).set(value)

    def record_estimates(
        self, namespace: str, monitor: str, estimates: Mapping[str, tuple[float, float, float]]
    ) -> None:
        """Export each metric estimated without labels: its value and its band's ends."""
        if self.estimated is None:
            return
        for metric, values in estimates.items():
            for bound, value in zip(ESTIMATE_BOUNDS, values, strict=True):
                self.estimated.labels(namespace, monitor, metric, bound).set(value)

    def record_conditions(
        self, namespace: str, monitor: str, conditions: Sequence[Mapping[str, Any]]
    ) -> None:
        """Export each alarm condition's state as written to the status: 1 for its current
        status, 0 for the others (the shape kube-state-metrics gives conditions), so that
        alerts fire on exactly what ``kubectl get mmon`` shows."""
        self._start(namespace, monitor)
        for condition in conditions:
            kind = condition.get("type")
            if kind not in ALARM_CONDITIONS:
                continue
            for state in CONDITION_STATES:
                self.condition.labels(namespace, monitor, kind, state).set(
                    1.0 if condition.get("status") == state else 0.0
                )

    def record_failed_evaluation(self, namespace: str, monitor: str) -> None:
        """Count an evaluation that could not be made (the monitor is not Ready)."""
        self._start(namespace, monitor)
        self.evaluations.labels(namespace, monitor, "error").inc()

    def record_retraining(self, namespace: str, monitor: str, result: str) -> None:
        self._start(namespace, monitor)
        self.retrainings.labels(namespace, monitor, result).inc()

    def record_promotion(self, namespace: str, monitor: str, decision: str) -> None:
        """Count a gate or rollback decision (one of ``PROMOTION_DECISIONS``)."""
        self._start(namespace, monitor)
        self.promotions.labels(namespace, monitor, decision).inc()

    def record_conflict(self, write: str) -> None:
        """Count a 409 Conflict answered to the read-modify-write ``write`` (see ``WRITES``)."""
        self.conflicts.labels(write).inc()

    def record_request(self, method: str, resource: str) -> None:
        """Count one request of the operator to the API server."""
        self.api_requests.labels(method, resource).inc()

    def record_labels(self, namespace: str, monitor: str, counts: Mapping[str, int]) -> None:
        """Count the merged outcomes of one ``POST /v1/feedback/{namespace}/{monitor}``."""
        self._start(namespace, monitor)
        for outcome, count in counts.items():
            if count:
                self.labels.labels(namespace, monitor, outcome).inc(count)

    def forget(self, namespace: str, monitor: str) -> None:
        """Drop the per-monitor series of a deleted monitor."""
        self._known.discard((namespace, monitor))
        for family in (
            self.drift_share,
            self.metric_value,
            self.sidecars,
            self.evaluations,
            self.retrainings,
            self.promotions,
            self.labels,
            self.condition,
            self.multivariate_evidence,
            self.embedding_evidence,
            *((self.estimated,) if self.estimated is not None else ()),
        ):
            for labels in list(_label_sets(family)):
                if labels[:2] == (namespace, monitor):
                    family.remove(*labels)
        if self.segments is not None:
            self.segments.forget(namespace, monitor)

    def _start(self, namespace: str, monitor: str) -> None:
        """Create the monitor's counters at zero for every result, once."""
        if (namespace, monitor) in self._known:
            return
        self._known.add((namespace, monitor))
        for counter, values in (
            (self.evaluations, EVALUATION_RESULTS),
            (self.retrainings, RETRAINING_RESULTS),
            (self.promotions, PROMOTION_DECISIONS),
            (self.labels, LABEL_OUTCOMES),
        ):
            for value in values:
                counter.labels(namespace, monitor, value)


def make_metrics(registry: CollectorRegistry) -> OperatorMetrics:
    """Create and register the operator's metrics in ``registry``."""
    metrics = OperatorMetrics(
        evaluations=Counter(
            "kubedrift_operator_evaluations",
            "Evaluations of ModelMonitors, by monitor and result.",
            ["namespace", "monitor", "result"],
            registry=registry,
        ),
        evaluation_duration=Histogram(
            "kubedrift_operator_evaluation_duration_seconds",
            "Time to pull the sidecars' windows, merge and evaluate one monitor.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        ),
        drift_share=Gauge(
            "kubedrift_monitor_drift_share",
            "Share of drifted features in the last evaluation.",
            ["namespace", "monitor"],
            registry=registry,
        ),
        embedding_evidence=Gauge(
            "kubedrift_monitor_embedding_evidence",
            "Largest CUSUM statistic (log e-value) of an embedding block's signals (principal-"
            "component scores, norm, reconstruction error) in the last evaluation; it alarms at "
            "the evidence threshold.",
            ["namespace", "monitor", "embedding"],
            registry=registry,
        ),
        multivariate_evidence=Gauge(
            "kubedrift_monitor_multivariate_evidence",
            "Largest CUSUM statistic (log e-value) of the multivariate signal (PCA "
            "reconstruction error) in the last evaluation; it alarms at the evidence threshold.",
            ["namespace", "monitor"],
            registry=registry,
        ),
        metric_value=Gauge(
            "kubedrift_monitor_metric_value",
            "Performance metric from labeled predictions in the last evaluation.",
            ["namespace", "monitor", "metric"],
            registry=registry,
        ),
        retrainings=Counter(
            "kubedrift_operator_retrainings",
            "Retraining Jobs, by monitor and result (started, succeeded, failed).",
            ["namespace", "monitor", "result"],
            registry=registry,
        ),
        promotions=Counter(
            "kubedrift_operator_promotion_decisions",
            "Promotion gate and rollback decisions, by monitor and decision (promoted, rejected, "
            "not_enough_held_out, rolled_back).",
            ["namespace", "monitor", "decision"],
            registry=registry,
        ),
        sidecars=Gauge(
            "kubedrift_monitor_sidecars",
            "Sidecars of a monitor's target: desired (ready Pods) and reporting.",
            ["namespace", "monitor", "state"],
            registry=registry,
        ),
        conflicts=Counter(
            "kubedrift_operator_api_conflicts",
            "409 Conflict answers to the operator's read-modify-write updates (each is re-read "
            "and recomputed), by write: inject, takeover, status, remove, restore.",
            ["write"],
            registry=registry,
        ),
        labels=Counter(
            "kubedrift_operator_labels",
            "Labels posted to the operator's feedback endpoint, by monitor and merged outcome "
            "over the monitor's sidecars (joined, unknown, expired, duplicate, invalid).",
            ["namespace", "monitor", "outcome"],
            registry=registry,
        ),
        condition=Gauge(
            "kubedrift_monitor_condition",
            "Each alarm condition of a monitor (DriftDetected, PerformanceDegraded, "
            "DataQualityDegraded): 1 for its current status (True, False or Unknown), 0 for the "
            'others. The chart\'s alerts fire on status="True".',
            ["namespace", "monitor", "condition", "status"],
            registry=registry,
        ),
        api_requests=Counter(
            "kubedrift_operator_api_requests",
            "Requests of the operator to the API server (kopf's watches not included), by HTTP "
            "method and resource.",
            ["method", "resource"],
            registry=registry,
        ),
    )
    for write in WRITES:
        metrics.conflicts.labels(write)
    estimated = Gauge(
        "kubedrift_monitor_estimated_metric",
        "Performance estimated without labels from calibrated class probabilities, by metric "
        "(accuracy, precision, recall, f1, roc-auc) and bound (value, lower, upper: the band at "
        "spec.performance.confidence); next to kubedrift_monitor_metric_value, the realized one.",
        ["namespace", "monitor", "metric", "bound"],
        registry=registry,
    )
    return replace(metrics, estimated=estimated, segments=SegmentMetrics.register(registry))


def _label_sets(family: Counter | Gauge) -> set[tuple[str, ...]]:
    """The label values of a family's series (a counter's ``_total`` and ``_created`` samples
    give one series)."""
    return {
        tuple(sample.labels[name] for name in family._labelnames)
        for metric in family.collect()
        for sample in metric.samples
    }
