"""The ``kubedrift_monitor_segment_*`` gauges: each judged segment's alarms, evidence, rows and
metric (``spec.segments``).

The ``segment`` label takes the values a monitor judges: at most 20 (``spec.segments``), all
of them values of the baseline's training rows chosen when it was built, never a value first
seen in traffic, so the label set stays bounded. A segment no longer judged (a changed spec or
baseline) loses its series at the next evaluation; a deleted monitor loses all of them.

>>> from prometheus_client import CollectorRegistry
>>> registry = CollectorRegistry()
>>> gauges = SegmentMetrics.register(registry)
>>> gauges.record("ns", "fraud", [("de", True, False, 21.5, 800, ("accuracy", 0.91))])
>>> labels = {"namespace": "ns", "monitor": "fraud", "segment": "de"}
>>> registry.get_sample_value("kubedrift_monitor_segment_drifted", labels)
1.0

The metrics estimated without labels (``status.segments[].estimatedPerformance``) have their
own gauge, with the ``metric`` and ``bound`` labels of ``kubedrift_monitor_estimated_metric``
(five metrics, three bounds: at most 15 series per judged segment):

>>> gauges.record_estimates("ns", "fraud", {"de": {"accuracy": (0.9, 0.88, 0.92)}})
>>> registry.get_sample_value("kubedrift_monitor_segment_estimated_metric",
...                           {**labels, "metric": "accuracy", "bound": "lower"})
0.88
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Gauge

#: One segment's figures: value, drifted, degraded, evidence, rows, (metric, value) or None.
SegmentFigures = tuple[str, bool, bool, float, int, tuple[str, float] | None]

_LABELS = ["namespace", "monitor", "segment"]
#: ``bound`` label values of ``kubedrift_monitor_segment_estimated_metric`` (as the monitor's).
_BOUNDS = ("value", "lower", "upper")
#: One segment's estimates: metric -> (value, lower, upper).
SegmentEstimates = Mapping[str, tuple[float, float, float]]


@dataclass(frozen=True)
class SegmentMetrics:
    drifted: Gauge
    degraded: Gauge
    evidence: Gauge
    samples: Gauge
    metric_value: Gauge
    estimated: Gauge

    @classmethod
    def register(cls, registry: CollectorRegistry) -> SegmentMetrics:
        return cls(
            drifted=Gauge(
                "kubedrift_monitor_segment_drifted",
                "1 while a segment's drift alarm holds (spec.segments), else 0.",
                _LABELS,
                registry=registry,
            ),
            degraded=Gauge(
                "kubedrift_monitor_segment_degraded",
                "1 while a segment's performance alarm holds (spec.segments with "
                "spec.performance), else 0.",
                _LABELS,
                registry=registry,
            ),
            evidence=Gauge(
                "kubedrift_monitor_segment_evidence",
                "Largest CUSUM statistic (log e-value) of a segment's drift detectors in the "
                "last evaluation; it alarms at the segment's evidence threshold.",
                _LABELS,
                registry=registry,
            ),
            samples=Gauge(
                "kubedrift_monitor_segment_samples",
                "Rows of a segment in the window its engine read in the last evaluation.",
                _LABELS,
                registry=registry,
            ),
            metric_value=Gauge(
                "kubedrift_monitor_segment_metric_value",
                "Performance metric of a segment's labeled predictions in the last evaluation.",
                [*_LABELS, "metric"],
                registry=registry,
            ),
            estimated=Gauge(
                "kubedrift_monitor_segment_estimated_metric",
                "Performance of a segment estimated without labels from calibrated class "
                "probabilities, by metric and bound (value, lower, upper) of its band.",
                [*_LABELS, "metric", "bound"],
                registry=registry,
            ),
        )

    def _families(self) -> tuple[Gauge, ...]:
        return (
            self.drifted,
            self.degraded,
            self.evidence,
            self.samples,
            self.metric_value,
            self.estimated,
        )

    def record_estimates(
        self, namespace: str, monitor: str, segments: Mapping[str, SegmentEstimates]
    ) -> None:
        """Set each segment's estimated metrics (segment value -> metric -> value and band);
        a segment without estimates this round loses its series."""
        for value, estimates in segments.items():
            for metric, values in estimates.items():
                for bound, figure in zip(_BOUNDS, values, strict=True):
                    self.estimated.labels(namespace, monitor, value, metric, bound).set(figure)
        for labels in _label_sets(self.estimated):
            if labels[:2] == (namespace, monitor) and labels[2] not in segments:
                self.estimated.remove(*labels)

    def record(self, namespace: str, monitor: str, segments: Iterable[SegmentFigures]) -> None:
        """Set each segment's gauges; series of segments not in ``segments`` are dropped."""
        seen = set()
        for value, drifted, degraded, evidence, samples, metric in segments:
            seen.add(value)
            self.drifted.labels(namespace, monitor, value).set(1.0 if drifted else 0.0)
            self.degraded.labels(namespace, monitor, value).set(1.0 if degraded else 0.0)
            self.evidence.labels(namespace, monitor, value).set(evidence)
            self.samples.labels(namespace, monitor, value).set(samples)
            if metric is not None:
                self.metric_value.labels(namespace, monitor, value, metric[0]).set(metric[1])
        self._drop(namespace, monitor, keep=seen)

    def forget(self, namespace: str, monitor: str) -> None:
        """Drop every segment series of a monitor."""
        self._drop(namespace, monitor, keep=set())

    def _drop(self, namespace: str, monitor: str, *, keep: set[str]) -> None:
        for family in self._families():
            for labels in _label_sets(family):
                if labels[:2] == (namespace, monitor) and labels[2] not in keep:
                    family.remove(*labels)


def _label_sets(family: Gauge) -> set[tuple[str, ...]]:
    return {
        tuple(sample.labels[name] for name in family._labelnames)
        for metric in family.collect()
        for sample in metric.samples
    }
