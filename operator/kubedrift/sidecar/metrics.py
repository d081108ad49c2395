"""Prometheus metrics of one sidecar process: ``make_metrics(registry)``.

Worker-side values are ordinary prometheus_client metrics. Request-path values (responses,
latency, proxy errors, samples queued and dropped) live in plain counters
(:class:`~kubedrift.sidecar.proxy_stats.ProxyStats`, the queue, the sampler) and are exposed by a
collector that reads them at scrape time, so the request path never takes a metrics lock. No label
carries a payload value or a request id; ``feature`` takes the baseline's feature names only.

>>> from prometheus_client import CollectorRegistry
>>> registry = CollectorRegistry()
>>> metrics = make_metrics(registry)
>>> metrics.unparsable.labels(reason="invalid_json").inc()
>>> registry.get_sample_value("kubedrift_unparsable_total", {"reason": "invalid_json"})
1.0
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from kubedrift.payloads import REASONS
from kubedrift.sidecar.labels import OUTCOMES
from kubedrift.sidecar.proxy_stats import ERROR_KINDS, LATENCY_BUCKETS, ProxyStats

#: Reasons an exchange yields no rows, beyond the parsers' own (``kubedrift_unparsable_total``).
SIDECAR_REASONS = ("status", "truncated", "internal")


@dataclass
class ProxySources:
    """The plain objects the request path updates, read at scrape time."""

    stats: ProxyStats
    queue: Any  # SampleQueue: len(), capacity, offered, dropped
    sampler: Any  # Sampler: limited
    pool: Any  # UpstreamPool: opened
    context: Any  # ProxyContext: connections, sample_failures


class ProxyCollector(Collector):
    """Exposes :class:`ProxySources` (empty until :meth:`attach` is called)."""

    def __init__(self) -> None:
        self.sources: ProxySources | None = None

    def attach(self, sources: ProxySources) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Any]:
        sources = self.sources
        if sources is None:
            return
        stats = sources.stats
        responses = CounterMetricFamily(
            "kubedrift_requests", "Requests answered by the proxy, by status class", labels=["code"]
        )
        for index, count in enumerate(stats.responses):
            responses.add_metric(["none" if index == 0 else f"{index}xx"], count)
        yield responses
        errors = CounterMetricFamily(
            "kubedrift_proxy_errors", "Requests the proxy answered itself or reset", labels=["kind"]
        )
        for kind in ERROR_KINDS:
            errors.add_metric([kind], stats.errors[kind])
        yield errors
        cumulative, buckets = 0, []
        for bound, count in zip(
            (*LATENCY_BUCKETS, float("inf")), stats.latency_buckets, strict=True
        ):
            cumulative += count
            buckets.append((str(bound) if bound != float("inf") else "+Inf", cumulative))
        histogram = HistogramMetricFamily(
            "kubedrift_proxy_request_duration_seconds",
            "Time from the request head to the last response byte, upstream time included",
        )
        histogram.add_metric([], buckets, stats.latency_sum)
        yield histogram
        queue = sources.queue
        yield CounterMetricFamily(
            "kubedrift_samples", "Exchanges copied for monitoring", value=queue.offered
        )
        yield CounterMetricFamily(
            "kubedrift_samples_dropped",
            "Samples dropped because the queue was full",
            value=queue.dropped,
        )
        yield CounterMetricFamily(
            "kubedrift_samples_rate_limited",
            "Requests the sample rate chose but maxSamplesPerSecond refused",
            value=sources.sampler.limited,
        )
        yield CounterMetricFamily(
            "kubedrift_sample_copy_failures",
            "Sampled exchanges whose copy failed",
            value=sources.context.sample_failures,
        )
        yield GaugeMetricFamily(
            "kubedrift_queue_depth", "Samples waiting for the worker", value=len(queue)
        )
        yield GaugeMetricFamily(
            "kubedrift_queue_capacity", "Capacity of the sample queue", value=queue.capacity
        )
        yield GaugeMetricFamily(
            "kubedrift_client_connections",
            "Open client connections",
            value=len(sources.context.connections),
        )
        yield CounterMetricFamily(
            "kubedrift_upstream_connections_opened",
            "Connections opened to the model server",
            value=sources.pool.opened,
        )


@dataclass
class Metrics:
    """Every metric of the process; see :func:`make_metrics`."""

    registry: CollectorRegistry
    proxy: ProxyCollector
    exchanges: Counter
    unparsable: Counter
    rows: Counter
    labels: Counter
    monitor_errors: Counter
    rotations: Counter
    window_samples: Gauge
    window_labeled: Gauge
    label_store_entries: Gauge
    drift_score: Gauge
    drifted: Gauge
    mirror_unmatched: Counter


def make_metrics(registry: CollectorRegistry) -> Metrics:
    """Create and register the sidecar's metrics in ``registry`` (one per process or test)."""
    proxy = ProxyCollector()
    registry.register(proxy)
    exchanges = Counter(
        "kubedrift_exchanges_parsed",
        "Sampled exchanges parsed into rows",
        ["protocol"],
        registry=registry,
    )
    unparsable = Counter(
        "kubedrift_unparsable",
        "Sampled exchanges that gave no rows, by reason",
        ["reason"],
        registry=registry,
    )
    for reason in (*REASONS, *SIDECAR_REASONS):
        unparsable.labels(reason=reason)
    labels = Counter(
        "kubedrift_labels", "Labels received, by outcome", ["outcome"], registry=registry
    )
    for outcome in OUTCOMES:
        labels.labels(outcome=outcome)
    monitor_errors = Counter(
        "kubedrift_monitor_errors",
        "Failures in the monitoring path (never affecting requests)",
        ["stage"],
        registry=registry,
    )
    return Metrics(
        registry=registry,
        proxy=proxy,
        exchanges=exchanges,
        unparsable=unparsable,
        rows=Counter("kubedrift_rows", "Rows added to the window", registry=registry),
        labels=labels,
        monitor_errors=monitor_errors,
        rotations=Counter("kubedrift_window_rotations", "Windows completed", registry=registry),
        window_samples=Gauge(
            "kubedrift_window_samples", "Rows in the current window", registry=registry
        ),
        window_labeled=Gauge(
            "kubedrift_window_labeled", "Labeled rows in the current window", registry=registry
        ),
        label_store_entries=Gauge(
            "kubedrift_label_store_entries", "Request ids waiting for a label", registry=registry
        ),
        drift_score=Gauge(
            "kubedrift_feature_drift_score",
            "Drift statistic of each feature in the local window (the method's own scale)",
            ["feature"],
            registry=registry,
        ),
        drifted=Gauge(
            "kubedrift_feature_drifted",
            "1 when the local window calls drift on the feature",
            ["feature"],
            registry=registry,
        ),
        mirror_unmatched=Counter(
            "kubedrift_mirror_unmatched",
            "Mirror-mode CloudEvents whose request or response half never arrived",
            registry=registry,
        ),
    )
