"""Prometheus metrics of one sidecar process: ``make_metrics(registry)``.

They live in the monitor process, which serves ``/metrics``. Worker-side values are ordinary
prometheus_client metrics. Request-path values (responses, latency, proxy errors, samples queued
and dropped) are plain counters in the proxy process
(:class:`~kubedrift.sidecar.proxy_stats.ProxyStats`, the queue, the sampler), sent over as a
:class:`~kubedrift.sidecar.proxy_stats.ProxySnapshot` with every batch of samples and at least
once a second, and exposed by a collector; the request path never takes a metrics lock. No label
carries a payload value or a request id; ``feature`` takes the baseline's feature names only.

>>> from prometheus_client import CollectorRegistry
>>> registry = CollectorRegistry()
>>> metrics = make_metrics(registry)
>>> metrics.unparsable.labels(reason="invalid_json").inc()
>>> registry.get_sample_value("kubedrift_unparsable_total", {"reason": "invalid_json"})
1.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from kubedrift.payloads import REASONS
from kubedrift.sidecar.proxy_stats import LATENCY_BUCKETS, ProxySnapshot
from kubedrift.wire import OUTCOMES

#: Reasons an exchange yields no rows, beyond the parsers' own (``kubedrift_unparsable_total``).
SIDECAR_REASONS = ("status", "truncated", "internal")


class ProxyCollector(Collector):
    """Exposes the latest :class:`ProxySnapshot` (nothing until :meth:`attach` is called).

    ``source`` is called at scrape time: in proxy mode it returns the last snapshot the proxy
    process sent (plus the monitor's own queue depth), in mirror mode one built from the local
    queue and sampler.
    """

    def __init__(self) -> None:
        self.source: Callable[[], ProxySnapshot] | None = None

    def attach(self, source: Callable[[], ProxySnapshot]) -> None:
        self.source = source

    def collect(self) -> Iterator[Any]:
        if self.source is None:
            return
        snapshot = self.source()
        responses = CounterMetricFamily(
            "kubedrift_requests", "Requests answered by the proxy, by status class", labels=["code"]
        )
        for index, count in enumerate(snapshot.responses):
            responses.add_metric(["none" if index == 0 else f"{index}xx"], count)
        yield responses
        errors = CounterMetricFamily(
            "kubedrift_proxy_errors", "Requests the proxy answered itself or reset", labels=["kind"]
        )
        for kind, count in snapshot.errors:
            errors.add_metric([kind], count)
        yield errors
        cumulative, buckets = 0, []
        bounds = (*LATENCY_BUCKETS, float("inf"))
        for bound, count in zip(bounds, snapshot.latency_buckets, strict=True):
            cumulative += count
            buckets.append((str(bound) if bound != float("inf") else "+Inf", cumulative))
        histogram = HistogramMetricFamily(
            "kubedrift_proxy_request_duration_seconds",
            "Time from the request head to the last response byte, upstream time included",
        )
        histogram.add_metric([], buckets, snapshot.latency_sum)
        yield histogram
        for name, help_text, value in (
            ("kubedrift_samples", "Exchanges copied for monitoring", snapshot.samples),
            ("kubedrift_samples_dropped", "Samples dropped because the queue was full",
             snapshot.samples_dropped),
            ("kubedrift_samples_rate_limited",
             "Requests the sample rate chose but maxSamplesPerSecond refused",
             snapshot.rate_limited),
            ("kubedrift_sample_copy_failures", "Sampled exchanges whose copy failed",
             snapshot.copy_failures),
            ("kubedrift_upstream_connections_opened", "Connections opened to the model server",
             snapshot.upstream_opened),
        ):  # fmt: skip
            yield CounterMetricFamily(name, help_text, value=value)
        shadow = CounterMetricFamily(
            "kubedrift_shadow_requests",
            "Copies of sampled requests sent to the shadow model, by outcome",
            labels=["outcome"],
        )
        shadow.add_metric(["answered"], snapshot.shadow_answered)
        shadow.add_metric(["failed"], snapshot.shadow_failed)
        shadow.add_metric(["dropped"], snapshot.shadow_dropped)
        yield shadow
        for name, help_text, value in (
            ("kubedrift_queue_depth", "Samples waiting to be parsed", snapshot.queue_depth),
            ("kubedrift_queue_capacity", "Capacity of the sample queue", snapshot.queue_capacity),
            (
                "kubedrift_client_connections",
                "Open client connections",
                snapshot.client_connections,
            ),
        ):
            yield GaugeMetricFamily(name, help_text, value=value)


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
    model_exchanges: Counter
    model_info: Gauge
    schema_mismatch: Counter


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
        rows=Counter(
            "kubedrift_rows", "Rows added to the window, by model", ["model"], registry=registry
        ),
        labels=labels,
        monitor_errors=monitor_errors,
        rotations=Counter(
            "kubedrift_window_rotations",
            "Windows completed, by model",
            ["model"],
            registry=registry,
        ),
        window_samples=Gauge(
            "kubedrift_window_samples",
            "Rows in the current window, by model",
            ["model"],
            registry=registry,
        ),
        window_labeled=Gauge(
            "kubedrift_window_labeled",
            "Labeled rows in the current window, by model",
            ["model"],
            registry=registry,
        ),
        label_store_entries=Gauge(
            "kubedrift_label_store_entries", "Request ids waiting for a label", registry=registry
        ),
        drift_score=Gauge(
            "kubedrift_feature_drift_score",
            "Drift statistic of each feature in the local window (the method's own scale)",
            ["model", "feature"],
            registry=registry,
        ),
        drifted=Gauge(
            "kubedrift_feature_drifted",
            "1 when the local window calls drift on the feature",
            ["model", "feature"],
            registry=registry,
        ),
        mirror_unmatched=Counter(
            "kubedrift_mirror_unmatched",
            "Mirror-mode CloudEvents whose request or response half never arrived",
            registry=registry,
        ),
        model_exchanges=Counter(
            "kubedrift_model_exchanges",
            "Sampled exchanges by the model their path names (at most 20 names, the rest 'other';"
            " 'none': the path names no model) and whether they are the monitored model's",
            ["model", "monitored"],
            registry=registry,
        ),
        schema_mismatch=Counter(
            "kubedrift_schema_mismatch",
            "Parsed exchanges none of whose columns is a baseline feature (name the payload's"
            " columns with spec.capture.features), by model",
            ["model"],
            registry=registry,
        ),
        model_info=Gauge(
            "kubedrift_monitored_model_info",
            "1, labelled with the model this sidecar's window watches (spec.target.model; empty:"
            " every model on the port)",
            ["model"],
            registry=registry,
        ),
    )
