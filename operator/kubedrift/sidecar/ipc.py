"""The channel between the proxy process and the monitor process: pickled frames on a socketpair.

The messages are the typed ones of ``kubedrift.sidecar.messages`` (which lists them). Each frame
is a 4-byte big-endian length and a pickle. Both ends are this program,
started together (the monitor process is forked before any event loop runs), so pickle is safe here;
the channel is never exposed to the network.

:class:`SendChannel` never blocks the proxy: :meth:`SendChannel.writable` turns false when more
than ``high_water`` bytes wait in the socket buffer (the monitor is behind), and the proxy then
leaves samples in its bounded queue, where overflow is dropped and counted.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from collections.abc import Callable
from typing import Generic, TypeVar, cast

from kubedrift.sidecar.messages import ToMonitor, ToProxy

logger = logging.getLogger(__name__)
_LENGTH = 4
M = TypeVar("M", ToMonitor, ToProxy)


def encode(message: ToMonitor | ToProxy) -> bytes:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return len(payload).to_bytes(_LENGTH, "big") + payload


class FrameReader(Generic[M]):
    """Decodes the frames that arrive in pieces and hands each message to ``on_message``."""

    def __init__(self, on_message: Callable[[M], None]) -> None:
        self.on_message: Callable[[M], None] = on_message
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= _LENGTH:
            size = int.from_bytes(buffer[:_LENGTH], "big")
            if len(buffer) < _LENGTH + size:
                return
            message = cast(M, pickle.loads(buffer[_LENGTH : _LENGTH + size]))
            del buffer[: _LENGTH + size]
            self.on_message(message)


def _ignore(message: ToProxy) -> None:
    logger.warning("unexpected message on the sample channel: %s", message[:1])


class SendChannel(asyncio.Protocol):
    """The proxy's end. ``closed`` turns true if the monitor process goes away; the monitor's
    few messages go to ``reader.on_message`` (the proxy's forwarder sets it)."""

    def __init__(self, high_water: int = 8 << 20) -> None:
        self.high_water = high_water
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reader: FrameReader[ToProxy] = FrameReader(_ignore)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            logger.error("the monitor process closed its channel; samples are dropped from now on")
        self.closed = True

    def writable(self) -> bool:
        transport = self.transport
        return (
            not self.closed
            and transport is not None
            and transport.get_write_buffer_size() < self.high_water
        )

    def send(self, message: ToMonitor) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(encode(message))

    async def drained(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until everything written reached the socket."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.transport is not None and self.transport.get_write_buffer_size():
            if self.closed or loop.time() > deadline:
                return
            await asyncio.sleep(0.01)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class ReceiveChannel(asyncio.Protocol):
    """The monitor's end: decodes frames and hands each message to ``on_message``."""

    def __init__(self, on_message: Callable[[ToMonitor], None], on_closed: Callable[[], None]):
        self.on_closed = on_closed
        self.transport: asyncio.Transport | None = None
        self.reader: FrameReader[ToMonitor] = FrameReader(on_message)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)

    def send(self, message: ToProxy) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode(message))

    def connection_lost(self, exc: Exception | None) -> None:
        self.on_closed()

    def pause(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()
