"""Frames between the proxy and the monitor process survive any split into reads."""

from __future__ import annotations

import asyncio
from typing import Any

from kubedrift.sidecar.admin import Readiness
from kubedrift.sidecar.ipc import ReceiveChannel, encode
from kubedrift.sidecar.monitor_service import Inbox
from kubedrift.sidecar.proxy_stats import ProxySnapshot
from kubedrift.sidecar.sampling import Sample, SampleFields, SampleQueue


def test_messages_arrive_whole_and_in_order_whatever_the_read_boundaries() -> None:
    sample_fields: SampleFields = ("/p", 200, b"{}", b"[]", None, "r", None, None, None, False)
    messages: list[tuple[Any, ...]] = [
        ("samples", [sample_fields], ProxySnapshot(samples=1)),
        ("stats", ProxySnapshot(samples=2)),
        ("draining",),
        ("stop",),
    ]
    stream = b"".join(encode(message) for message in messages)
    received: list[tuple[Any, ...]] = []
    channel = ReceiveChannel(received.append, lambda: None)

    for start in range(0, len(stream), 7):
        channel.data_received(stream[start : start + 7])

    assert received == messages


def test_the_monitor_rebuilds_each_sample_from_the_tuple_the_proxy_sent() -> None:
    queue: SampleQueue[Sample] = SampleQueue(capacity=4)
    inbox = Inbox(queue, Readiness(), asyncio.Event())
    fields: SampleFields = ("/p", 200, b"{}", b"[]", "ce", "r", "g", "7", None, True)

    inbox.on_message(("samples", [fields], ProxySnapshot(samples=1)))

    assert queue.take(4) == [
        Sample(
            path="/p", status=200, request_body=b"{}", response_body=b"[]", ce_id="ce",
            x_request_id="r", generated_id="g", request_header_length="7",
            response_header_length=None, truncated=True,
        )
    ]  # fmt: skip
