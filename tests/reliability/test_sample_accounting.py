"""Every sample the proxy copies is either processed or counted as dropped, in both processes.

Regression: a frame of samples arriving at the monitor process while its queue was nearly full
overflowed that queue silently (only the proxy's drops reached ``/metrics``); the 100,000-request
fault run found thousands of samples neither processed nor counted.
"""

from __future__ import annotations

import asyncio

from kubedrift.sidecar.admin import Readiness
from kubedrift.sidecar.monitor_service import Inbox
from kubedrift.sidecar.proxy_stats import ProxySnapshot
from kubedrift.sidecar.sampling import Sample, SampleFields, SampleQueue


def test_overflow_of_the_monitor_queue_is_counted_with_the_proxy_drops() -> None:
    queue: SampleQueue[Sample] = SampleQueue(capacity=4)
    inbox = Inbox(queue, Readiness(), asyncio.Event())
    fields: SampleFields = (
        "/v2/models/m/infer",
        200,
        b"",
        b"",
        None,
        None,
        None,
        None,
        None,
        False,
    )
    frame = [fields]

    inbox.on_message(("samples", frame * 7, ProxySnapshot(samples=9, samples_dropped=2)))
    current = inbox.current()

    assert current.samples == 9
    assert current.samples_dropped == 2 + 3
    assert current.queue_depth == 4
    assert current.samples == current.samples_dropped + current.queue_depth
