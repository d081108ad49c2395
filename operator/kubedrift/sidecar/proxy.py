"""The request path: an asyncio protocol per client connection, parsing with httptools.

:class:`ClientConnection` parses requests as they arrive and runs them one at a time, in order, as
:class:`~kubedrift.sidecar.exchange.Exchange` objects (pipelined requests wait their turn, with
reading paused). :class:`ProxyContext` holds what every connection shares: the upstream pool, the
sampler, the sample queue, the counters and the timeouts. Nothing here parses payloads or touches
the window; a sampled exchange only leaves a copy in the queue.

Timeouts are enforced by one sweep per second over the open connections rather than a timer per
request: a request waiting longer than ``upstream_timeout`` for the response head gets a 504, and a
connection idle for longer than ``keepalive_timeout`` is closed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, cast

import httptools

from kubedrift.sidecar.exchange import SHADOW_COPY_HEADER, Exchange
from kubedrift.sidecar.proxy_stats import ProxySnapshot, ProxyStats
from kubedrift.sidecar.sampling import SampleFields, SampleQueue, Sampler
from kubedrift.sidecar.shadow import ShadowMirror
from kubedrift.sidecar.upstream import UpstreamPool

logger = logging.getLogger(__name__)


def _nothing() -> None:
    pass


class ProxyContext:
    """Everything the connections of one listening socket share."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        pool: UpstreamPool,
        sampler: Sampler,
        queue: SampleQueue[SampleFields],
        *,
        upstream_label: str,
        stats: ProxyStats | None = None,
        max_sample_bytes: int = 1 << 20,
        upstream_timeout: float = 60.0,
        keepalive_timeout: float = 75.0,
        shadow: ShadowMirror | None = None,
    ) -> None:
        self.loop = loop
        self.pool = pool
        self.sampler = sampler
        self.queue = queue
        self.upstream_label = upstream_label
        self.stats = stats or ProxyStats()
        self.max_sample_bytes = max_sample_bytes
        self.upstream_timeout = upstream_timeout
        self.keepalive_timeout = keepalive_timeout
        #: Where copies of sampled requests go once their response went out (shadow rollout).
        self.shadow = shadow
        self.connections: set[ClientConnection] = set()
        self.draining = False
        self.sample_failures = 0
        #: Called after a sample was queued (the forwarder arms its timer).
        self.on_queued: Callable[[], None] = _nothing
        self._tasks: set[asyncio.Task[None]] = set()
        self._id_prefix = uuid.uuid4().hex[:16]
        self._id_counter = itertools.count(1)

    def new_request_id(self) -> str:
        """A request id unique to this process: a random prefix and a counter."""
        return f"{self._id_prefix}-{next(self._id_counter)}"

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = self.loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def offer(self, exchange: Exchange) -> None:
        """Queue a finished sampled exchange; a failure here is counted, never raised."""
        try:
            sample = exchange.sample()
            if self.queue.offer(sample):
                self.on_queued()
            if self.shadow is not None and SHADOW_COPY_HEADER not in exchange.request_ids:
                self.shadow.mirror(sample)  # starts a task; the response is already out
        except Exception:
            self.sample_failures += 1
            logger.exception("copying a sampled exchange failed; the request was not affected")

    def snapshot(self) -> ProxySnapshot:
        """The request-path counters, for the monitor process's ``/metrics``."""
        queue = self.queue
        return ProxySnapshot.of(
            self.stats,
            samples=queue.offered,
            samples_dropped=queue.dropped,
            rate_limited=self.sampler.limited,
            copy_failures=self.sample_failures,
            queue_depth=len(queue),
            queue_capacity=queue.capacity,
            client_connections=len(self.connections),
            upstream_opened=self.pool.opened,
            **({} if self.shadow is None else _shadow_counts(self.shadow)),
        )

    def sweep(self, now: float) -> None:
        """Enforce timeouts (called about once a second)."""
        for connection in list(self.connections):
            connection.check_timeouts(now)

    def protocol_factory(self) -> Callable[[], ClientConnection]:
        return lambda: ClientConnection(self)


class ClientConnection(asyncio.Protocol):
    """One downstream connection: parse requests, run them in order, write responses in order."""

    __slots__ = (
        "active", "closed", "context", "feeding", "headers", "last_active", "parser", "queued",
        "receiving", "transport", "url",
    )  # fmt: skip

    def __init__(self, context: ProxyContext) -> None:
        self.context = context
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set on connect
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.active: Exchange | None = None
        self.receiving: Exchange | None = None
        self.queued: deque[Exchange] = deque()
        self.closed = False
        #: True while httptools runs our callbacks for one read (writes upstream are batched).
        self.feeding = False
        self.last_active = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self.context.connections.add(self)
        self.last_active = self.context.loop.time()

    def data_received(self, data: bytes) -> None:
        self.feeding = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.context.stats.errors["upgrade_refused"] += 1
            self.fail(501, "kubedrift sidecar: protocol upgrades are not proxied")
        except httptools.HttpParserError:
            if self.active is None or (
                self.active.head_sent is False and self.active is self.receiving
            ):
                self.context.stats.errors["bad_request"] += 1
                self.fail(400, "kubedrift sidecar: malformed HTTP request")
            else:
                self.abort()
        finally:
            self.feeding = False
        active = self.active
        if active is not None and active.outbox is not None:
            active.flush()  # what this read produced for the upstream, in one write

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.context.connections.discard(self)
        active = self.active
        self.active = None
        self.queued.clear()
        if active is not None and active.upstream is not None:
            upstream = active.upstream
            active.upstream = None
            upstream.exchange = None
            upstream.close()  # mid-response: the connection cannot be reused

    def pause_writing(self) -> None:
        active = self.active
        if active is not None and active.upstream is not None and active.upstream.transport:
            active.upstream.transport.pause_reading()

    def resume_writing(self) -> None:
        active = self.active
        if active is not None and active.upstream is not None and active.upstream.transport:
            active.upstream.transport.resume_reading()

    # httptools callbacks -------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self.parser
        now = self.context.loop.time()
        self.last_active = now
        exchange = Exchange(
            self,
            parser.get_method(),
            self.url,
            parser.get_http_version(),
            self.headers,
            keep_alive=parser.should_keep_alive() and not self.context.draining,
            started=now,
        )
        self.receiving = exchange
        if self.active is None:
            self.active = exchange
            exchange.start()
        else:
            self.queued.append(exchange)
            self.transport.pause_reading()  # pipelined: one request in flight per connection

    def on_body(self, body: bytes) -> None:
        if self.receiving is not None:
            self.receiving.on_request_body(body)

    def on_message_complete(self) -> None:
        if self.receiving is not None:
            self.receiving.on_request_complete()
            self.receiving = None

    # exchange life cycle -------------------------------------------------------------------------

    def exchange_finished(self, exchange: Exchange) -> None:
        if self.active is not exchange:
            return
        self.active = None
        self.last_active = self.context.loop.time()
        if not exchange.keep_alive or self.closed:
            self.close()
            return
        if self.queued:
            self.active = self.queued.popleft()
            if not self.queued:
                self.transport.resume_reading()
            self.active.start()
        elif self.context.draining:
            self.close()
        else:
            # Reading may still be paused for the finished exchange (its upstream was slow to
            # accept the body, or its upstream connection was being opened).
            self.transport.resume_reading()

    def fail(self, status: int, message: str) -> None:
        """Answer with a short plain-text error and close the connection."""
        body = message.encode() + b"\n"
        reason = {
            400: b"Bad Request",
            501: b"Not Implemented",
            502: b"Bad Gateway",
            504: b"Gateway Timeout",
        }
        self.transport.write(
            b"HTTP/1.1 %d %b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"
            b"X-Kubedrift-Error: %d\r\nConnection: close\r\n\r\n%b"
            % (status, reason.get(status, b"Error"), len(body), status, body)
        )
        self.close()

    def check_timeouts(self, now: float) -> None:
        active = self.active
        if active is None:
            if now - self.last_active > self.context.keepalive_timeout:
                self.close()
        elif (
            not active.response_started
            and not active.head_sent
            and now - active.started > self.context.upstream_timeout
        ):
            message = f"upstream {self.context.upstream_label} did not answer in time"
            active.fail(504, "upstream_timeout", message)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.context.connections.discard(self)
            self.transport.close()

    def abort(self) -> None:
        """Reset the connection: a response already started cannot be turned into an error."""
        if not self.closed:
            self.closed = True
            self.context.connections.discard(self)
            self.transport.abort()


def _shadow_counts(shadow: ShadowMirror) -> dict[str, int]:
    counts = shadow.counts
    return {
        "shadow_answered": counts["answered"],
        "shadow_failed": counts["failed"],
        "shadow_dropped": counts["dropped"],
    }
