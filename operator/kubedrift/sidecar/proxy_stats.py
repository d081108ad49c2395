"""Counters the request path updates: plain integers, read by the metrics collector at scrape time.

Incrementing a prometheus_client metric takes a lock and a few attribute lookups per call; the
proxy instead bumps list slots and the collector in ``kubedrift.sidecar.sidecar_metrics`` turns
them into samples when ``/metrics`` is scraped.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

#: Upper bounds of the proxy latency histogram buckets, in seconds (the last bucket is +Inf).
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip

#: Why the sidecar, not the model, answered a request (``kubedrift_proxy_errors_total{kind}``).
ERROR_KINDS: tuple[str, ...] = (
    "upstream_unreachable",  # connecting failed: 502
    "upstream_timeout",  # no response head within the timeout: 504
    "upstream_broken",  # the upstream closed or sent garbage mid-response: 502 or connection reset
    "bad_request",  # the client sent a request httptools cannot parse: 400
    "upgrade_refused",  # protocol upgrades (WebSocket) are not proxied: 501
)


class ProxyStats:
    """Per-process request counters; ``responses[i]`` counts status class ``i``xx (0: none)."""

    __slots__ = ("errors", "latency_buckets", "latency_count", "latency_sum", "responses")

    def __init__(self) -> None:
        self.responses = [0] * 6
        self.errors = dict.fromkeys(ERROR_KINDS, 0)
        self.latency_buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self.latency_count = 0

    def observe(self, status: int, seconds: float) -> None:
        """One finished request: its status (0 when no response was sent) and total duration."""
        index = status // 100
        self.responses[index if 0 <= index < 6 else 0] += 1
        self.latency_buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds
        self.latency_count += 1


@dataclass(frozen=True)
class ProxySnapshot:
    """The request-path counters at one instant, sent to the monitor process for ``/metrics``.

    ``queue_depth`` counts the samples waiting in the proxy process; the monitor adds its own.
    """

    responses: tuple[int, ...] = (0,) * 6
    errors: tuple[tuple[str, int], ...] = tuple((kind, 0) for kind in ERROR_KINDS)
    latency_buckets: tuple[int, ...] = (0,) * (len(LATENCY_BUCKETS) + 1)
    latency_sum: float = 0.0
    samples: int = 0
    samples_dropped: int = 0
    rate_limited: int = 0
    copy_failures: int = 0
    queue_depth: int = 0
    queue_capacity: int = 0
    client_connections: int = 0
    upstream_opened: int = 0
    shadow_answered: int = 0
    shadow_failed: int = 0
    shadow_dropped: int = 0

    @classmethod
    def of(cls, stats: ProxyStats, **counts: int) -> ProxySnapshot:
        """A snapshot of ``stats`` plus the queue, sampler, pool and connection ``counts``."""
        return cls(
            responses=tuple(stats.responses),
            errors=tuple(stats.errors.items()),
            latency_buckets=tuple(stats.latency_buckets),
            latency_sum=stats.latency_sum,
            **counts,
        )
