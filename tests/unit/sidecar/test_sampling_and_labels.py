"""Sampling decisions, the bounded queue, the label store and the CloudEvent joiner."""

from __future__ import annotations

import random

from kubedrift.sidecar.exchange import filter_headers
from kubedrift.sidecar.label_store import LabelStore
from kubedrift.sidecar.mirror import CloudEventJoiner
from kubedrift.sidecar.sampling import SampleQueue, Sampler


def test_sample_rate_admits_the_seeded_share_of_requests() -> None:
    sampler = Sampler(rate=0.1, rng=random.Random(42))
    reference = random.Random(42)
    expected = sum(reference.random() < 0.1 for _ in range(10_000))

    admitted = sum(sampler.admit(now=0.0) for _ in range(10_000))

    assert admitted == expected


def test_samples_per_second_cap_resets_each_second_and_counts_refusals() -> None:
    sampler = Sampler(rate=1.0, max_per_second=3)

    first = [sampler.admit(now=5.1) for _ in range(5)]
    second = [sampler.admit(now=6.0) for _ in range(2)]

    assert first == [True, True, True, False, False]
    assert second == [True, True]
    assert sampler.limited == 2


def test_full_queue_drops_and_counts_instead_of_growing() -> None:
    queue: SampleQueue[int] = SampleQueue(capacity=3)

    accepted = [queue.offer(i) for i in range(5)]

    assert accepted == [True, True, True, False, False]
    assert (queue.offered, queue.dropped, len(queue)) == (5, 2, 3)
    assert queue.take(2) == [0, 1]
    assert queue.take(10) == [2]


def test_label_for_unknown_request_id_is_counted_not_fatal() -> None:
    store = LabelStore(capacity=5, ttl=10.0)

    assert store.join("nobody", 1, now=0.0) == ("unknown", None)


def test_label_after_the_ttl_is_expired_and_purged_later() -> None:
    store = LabelStore(capacity=5, ttl=10.0)
    store.put(["a"], {"x": [1.0]}, [1], now=0.0)

    assert store.join("a", 1, now=10.5)[0] == "expired"
    assert store.purge(now=15.0) == 0
    assert store.purge(now=20.5) == 1
    assert store.join("a", 1, now=21.0)[0] == "unknown"


def test_second_label_for_the_same_exchange_is_a_duplicate_even_under_another_id() -> None:
    store = LabelStore(capacity=5, ttl=10.0)
    store.put(["ce", "generated"], {"x": [1.0]}, [1], now=0.0)

    first = store.join("ce", 0, now=1.0)
    second = store.join("generated", 0, now=1.0)

    assert first[0] == "joined"
    assert first[1] is not None and first[1].labels == [0]
    assert second == ("duplicate", None)


def test_batch_exchange_takes_one_label_per_row() -> None:
    store = LabelStore(capacity=5, ttl=10.0)
    store.put(["b"], {"x": [1.0, 2.0]}, [1, 0], now=0.0)

    assert store.join("b", 1, now=1.0)[0] == "invalid"
    assert store.join("b", [1, 1], now=1.0)[0] == "joined"


def test_store_evicts_the_oldest_entry_when_full() -> None:
    store = LabelStore(capacity=2, ttl=100.0)
    for key in ("a", "b", "c"):
        store.put([key], {"x": [0.0]}, [0], now=0.0)

    assert len(store) == 2
    assert store.join("a", 0, now=1.0)[0] == "unknown"
    assert store.join("c", 0, now=1.0)[0] == "joined"


def test_cloudevent_halves_join_in_either_order_and_stale_halves_are_counted() -> None:
    joiner = CloudEventJoiner(capacity=10, ttl=5.0)

    assert joiner.add("1", "response", b"out", now=0.0) is None
    assert joiner.add("1", "request", b"in", now=1.0) == (b"in", b"out")
    assert joiner.add("2", "request", b"lonely", now=2.0) is None
    assert joiner.add("3", "request", b"x", now=8.0) is None
    assert joiner.unmatched == 1


def test_hop_by_hop_headers_and_those_named_in_connection_are_not_forwarded() -> None:
    headers = [
        (b"Host", b"m"), (b"Connection", b"keep-alive, X-Private"), (b"X-Private", b"p"),
        (b"Keep-Alive", b"timeout=5"), (b"Transfer-Encoding", b"chunked"), (b"TE", b"trailers"),
        (b"X-Request-ID", b"r1"), (b"Content-Type", b"application/json"),
    ]  # fmt: skip

    lines, seen = filter_headers(headers)

    assert lines == [b"Host: m\r\n", b"X-Request-ID: r1\r\n", b"Content-Type: application/json\r\n"]
    assert seen[b"transfer-encoding"] == b"chunked"
    assert seen[b"x-request-id"] == b"r1"
