"""The proxy process ships samples to the monitor on a timer armed by the first queued sample,
never per request, and keeps them while the monitor is behind; without samples only a counter
snapshot goes, once a second; when the monitor asks (a sync), what is queued goes at once. The
channel is a real socketpair between two asyncio protocols."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from kubedrift.sidecar.ipc import ReceiveChannel, SendChannel
from kubedrift.sidecar.proxy import ProxyContext
from kubedrift.sidecar.proxy_service import Forwarder
from kubedrift.sidecar.sampling import SampleFields, SampleQueue, Sampler
from kubedrift.sidecar.upstream import UpstreamPool


def fields(path: str) -> SampleFields:
    return (path, 200, b"{}", b"[]", None, None, "g", None, None, False)


class Link:
    """A proxy context and forwarder on one end of a socketpair, the frames read on the other."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.loop = loop
        self.queue: SampleQueue[SampleFields] = SampleQueue(capacity=100)
        self.context = ProxyContext(
            loop, UpstreamPool("127.0.0.1", 9), Sampler(1.0), self.queue, upstream_label="m"
        )
        self.send = SendChannel()
        self.frames: list[tuple[Any, ...]] = []
        self.arrived = asyncio.Event()
        self.receive = ReceiveChannel(self.on_frame, lambda: None)
        self.interval = interval

    def on_frame(self, frame: tuple[Any, ...]) -> None:
        self.frames.append(frame)
        self.arrived.set()

    async def __aenter__(self) -> Forwarder:
        left, right = socket.socketpair()
        await self.loop.create_unix_connection(lambda: self.send, sock=left)
        await self.loop.create_unix_connection(lambda: self.receive, sock=right)
        self.forwarder = Forwarder(self.context, self.send, batch_size=2, interval=self.interval)
        return self.forwarder

    async def __aexit__(self, *_: object) -> None:
        self.forwarder.stop()
        self.send.close()
        if self.receive.transport is not None:
            self.receive.transport.close()

    async def received(self, count: int) -> list[tuple[Any, ...]]:
        """The first ``count`` frames (waiting for them)."""
        while len(self.frames) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), timeout=10)
        return self.frames[:count]


def test_samples_queued_together_leave_together_in_frames_of_the_batch_size() -> None:
    async def scenario() -> list[tuple[Any, ...]]:
        link = Link(asyncio.get_running_loop(), interval=0.05)
        async with link:
            for path in ("/a", "/b", "/c"):
                link.queue.offer(fields(path))
                link.context.on_queued()  # what ProxyContext.offer calls
            return await link.received(2)

    first, second = asyncio.run(scenario())

    assert first[0] == "samples" and [f[0] for f in first[1]] == ["/a", "/b"]
    assert second[0] == "samples" and [f[0] for f in second[1]] == ["/c"]
    assert first[2].samples == 3  # the counter snapshot rides along


def test_without_samples_only_a_counter_snapshot_goes() -> None:
    async def scenario() -> list[tuple[Any, ...]]:
        link = Link(asyncio.get_running_loop(), interval=0.05)
        async with link as forwarder:
            forwarder.start()
            await link.received(1)
            return link.frames

    frames = asyncio.run(scenario())

    assert [frame[0] for frame in frames] == ["stats"]
    assert frames[0][1].samples == 0


def test_samples_stay_queued_while_the_monitor_is_behind_and_go_once_it_catches_up() -> None:
    async def scenario() -> tuple[bool, int, list[tuple[Any, ...]]]:
        link = Link(asyncio.get_running_loop(), interval=0.05)
        async with link as forwarder:
            link.send.high_water = 0  # the socket buffer counts as full: the monitor is behind
            link.queue.offer(fields("/late"))
            sent = forwarder.send_samples()
            still_queued = len(link.queue)
            link.send.high_water = 8 << 20  # caught up: the re-armed timer sends it
            return sent, still_queued, await link.received(1)

    sent, still_queued, (frame,) = asyncio.run(scenario())

    assert not sent and still_queued == 1
    assert frame[0] == "samples" and [f[0] for f in frame[1]] == ["/late"]


def test_a_sync_from_the_monitor_sends_what_is_queued_at_once_then_answers() -> None:
    async def scenario() -> tuple[list[tuple[Any, ...]], int]:
        link = Link(asyncio.get_running_loop(), interval=60.0)  # the timer would not fire
        async with link:
            for path in ("/a", "/b", "/c"):
                link.queue.offer(fields(path))
                link.context.on_queued()
            link.receive.send(("sync", 7))
            return await link.received(3), len(link.queue)

    frames, left = asyncio.run(scenario())

    assert [frame[0] for frame in frames] == ["samples", "samples", "synced"]
    assert [f[0] for frame in frames[:2] for f in frame[1]] == ["/a", "/b", "/c"]
    assert frames[2] == ("synced", 7) and left == 0


def test_a_sync_with_nothing_queued_is_answered() -> None:
    async def scenario() -> list[tuple[Any, ...]]:
        link = Link(asyncio.get_running_loop(), interval=60.0)
        async with link:
            link.receive.send(("sync", 1))
            return await link.received(1)

    assert asyncio.run(scenario()) == [("synced", 1)]
