"""Keep-alive connections to the model server, and the parser that reads its responses.

:class:`UpstreamPool` hands out idle connections last-in-first-out (the warmest socket first) and
opens new ones on demand; a connection goes back only when its response was read completely and the
server allowed keep-alive. :class:`UpstreamConnection` feeds the bytes it receives to httptools and
passes the callbacks on to the exchange it currently serves (see ``kubedrift.sidecar.proxy``).

The exchange is seen here only through :class:`ResponseHandler`, so that this module, the lowest of
the three request-path modules (``proxy`` > ``exchange`` > ``upstream``), imports neither of the
others.
"""

from __future__ import annotations

import asyncio
from typing import Protocol, cast

import httptools


class _HasTransport(Protocol):
    @property
    def transport(self) -> asyncio.Transport: ...


class ResponseHandler(Protocol):
    """What an :class:`UpstreamConnection` calls on the exchange it serves
    (:class:`kubedrift.sidecar.exchange.Exchange`)."""

    @property
    def client(self) -> _HasTransport:
        """The downstream connection, paused and resumed as the upstream socket backs up."""
        ...

    def on_response_head(self, upstream: UpstreamConnection) -> None: ...
    def on_response_body(self, body: bytes) -> None: ...
    def on_response_complete(self, upstream: UpstreamConnection | None) -> None: ...
    def upstream_closed(self, upstream: UpstreamConnection) -> None: ...
    def upstream_failed(self, upstream: UpstreamConnection | None, message: str) -> None: ...


class UpstreamConnection(asyncio.Protocol):
    """One TCP connection to the model server, serving one exchange at a time."""

    __slots__ = ("closed", "exchange", "headers", "parser", "pool", "reason", "reused", "transport")

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.exchange: ResponseHandler | None = None
        #: The reason phrase and header lines of the response being read (reset per message).
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.closed = False
        #: True once the connection served a response (a reused socket may have been closed by
        #: the server meanwhile, which is worth one retry on a fresh connection).
        self.reused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        if self.exchange is None:
            self.close()  # bytes nobody asked for: the connection is no longer trustworthy
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            exchange = self.exchange
            self.close()
            if exchange is not None:
                exchange.upstream_failed(self, "the upstream sent a malformed HTTP response")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        exchange = self.exchange
        if exchange is not None:
            self.exchange = None
            exchange.upstream_closed(self)

    def pause_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.client.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.client.transport.resume_reading()

    # httptools callbacks: the head is collected here, the rest goes to the exchange being served.
    def on_message_begin(self) -> None:
        self.reason = b""
        self.headers = []

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.exchange is not None:
            self.exchange.on_response_head(self)

    def on_body(self, body: bytes) -> None:
        if self.exchange is not None:
            self.exchange.on_response_body(body)

    def on_message_complete(self) -> None:
        if self.exchange is not None:
            self.exchange.on_response_complete(self)

    def reset_parser(self) -> None:
        """A fresh parser, after a response whose body the parser cannot delimit (HEAD)."""
        self.parser = httptools.HttpResponseParser(self)

    def close(self) -> None:
        self.closed = True
        self.pool.forget(self)
        if self.transport is not None:
            self.transport.close()


class UpstreamPool:
    """Idle keep-alive connections to one ``host:port``, at most ``max_idle`` of them."""

    __slots__ = ("_idle", "connect_timeout", "host", "max_idle", "opened", "port")

    def __init__(self, host: str, port: int, *, max_idle: int = 64, connect_timeout: float = 5.0):
        self.host = host
        self.port = port
        self.max_idle = max_idle
        self.connect_timeout = connect_timeout
        self._idle: list[UpstreamConnection] = []
        #: Connections opened so far (a metric: a healthy pool opens few).
        self.opened = 0

    def take(self) -> UpstreamConnection | None:
        """An idle connection, or ``None`` when a new one must be opened."""
        idle = self._idle
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
        return None

    async def open(self) -> UpstreamConnection:
        """A new connection; raises ``OSError`` or ``TimeoutError`` when the upstream is down."""
        loop = asyncio.get_running_loop()
        _, connection = await asyncio.wait_for(
            loop.create_connection(lambda: UpstreamConnection(self), self.host, self.port),
            self.connect_timeout,
        )
        self.opened += 1
        return connection

    def release(self, connection: UpstreamConnection) -> None:
        connection.exchange = None
        connection.reused = True
        if connection.closed or len(self._idle) >= self.max_idle:
            connection.close()
            return
        if connection.transport is not None:
            # A slow client may have paused reading from this connection, and the response
            # may have ended before the client caught up: the next exchange must not inherit it.
            connection.transport.resume_reading()
        self._idle.append(connection)

    def forget(self, connection: UpstreamConnection) -> None:
        if connection in self._idle:
            self._idle.remove(connection)

    def close(self) -> None:
        for connection in list(self._idle):
            connection.close()
        self._idle.clear()
