"""Frames between the proxy and the monitor process survive any split into reads."""

from __future__ import annotations

from typing import Any

from kubedrift.sidecar.ipc import ReceiveChannel, encode
from kubedrift.sidecar.proxy_stats import ProxySnapshot
from kubedrift.sidecar.sampling import Sample


def test_messages_arrive_whole_and_in_order_whatever_the_read_boundaries() -> None:
    messages: list[tuple[Any, ...]] = [
        ("samples", [Sample("/p", 200, b"{}", b"[]", x_request_id="r")], ProxySnapshot(samples=1)),
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
