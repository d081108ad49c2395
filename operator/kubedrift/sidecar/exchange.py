"""One proxied request/response, from the request head to the last response byte.

An :class:`Exchange` rewrites the request head (hop-by-hop headers removed), streams the request
body to an upstream connection (buffering only until the connection is ready), and streams the
response back with the same status, reason and end-to-end headers. Bodies are passed on as the
parser yields them; framing is rewritten only where HTTP requires it (chunked bodies are re-chunked,
a chunked response to an HTTP/1.0 client is delimited by closing the connection).

If the exchange was sampled it also keeps a copy of both bodies, up to a size limit, and hands a
:data:`~kubedrift.sidecar.sampling.SampleFields` tuple to the queue after the response went out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Protocol

from kubedrift.sidecar.proxy_stats import ProxyStats
from kubedrift.sidecar.sampling import SampleFields, Sampler
from kubedrift.sidecar.upstream import UpstreamConnection, UpstreamPool


class Context(Protocol):
    """What an exchange uses of the listening socket's shared state
    (:class:`kubedrift.sidecar.proxy.ProxyContext`)."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...
    @property
    def pool(self) -> UpstreamPool: ...
    @property
    def sampler(self) -> Sampler: ...
    @property
    def stats(self) -> ProxyStats: ...
    @property
    def upstream_label(self) -> str: ...
    @property
    def max_sample_bytes(self) -> int: ...
    @property
    def draining(self) -> bool: ...
    def new_request_id(self) -> str: ...
    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None: ...
    def offer(self, exchange: Exchange) -> None: ...


class Client(Protocol):
    """What an exchange uses of its downstream connection
    (:class:`kubedrift.sidecar.proxy.ClientConnection`). Seen through this Protocol (and the
    upstream connection through :class:`~kubedrift.sidecar.upstream.ResponseHandler`), the
    request-path modules import each other in one direction only: proxy > exchange > upstream."""

    @property
    def transport(self) -> asyncio.Transport: ...
    @property
    def context(self) -> Context: ...
    @property
    def active(self) -> Exchange | None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def feeding(self) -> bool: ...
    def exchange_finished(self, exchange: Exchange) -> None: ...
    def fail(self, status: int, message: str) -> None: ...
    def abort(self) -> None: ...


#: Headers that describe one connection, never forwarded (RFC 9110 section 7.6.1), lower-case.
HOP_BY_HOP = frozenset(
    (b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding",
     b"upgrade", b"expect")
)  # fmt: skip
_NO_BODY_STATUS = (204, 304)
#: Request bodies up to this size are kept so a request can be replayed on a fresh connection when
#: a reused keep-alive connection turns out to have been closed by the server.
_REPLAY_LIMIT = 256 * 1024
#: Body chunks buffered while the upstream connection opens before the client is paused.
_OUTBOX_LIMIT = 64


#: Marks a copy sent to a shadow model (``kubedrift.sidecar.shadow``): always sampled, never
#: copied again.
SHADOW_COPY_HEADER = b"x-kubedrift-shadow"
_REMEMBERED = frozenset(
    (b"content-length", b"x-request-id", b"ce-id", b"inference-header-content-length",
     SHADOW_COPY_HEADER)
)  # fmt: skip
#: Lower-case name -> True for a hop-by-hop header, False for an end-to-end one the proxy reads.
_SPECIAL = {**dict.fromkeys(HOP_BY_HOP, True), **dict.fromkeys(_REMEMBERED, False)}
#: ``Connection`` values that name no other header (nothing more to remove).
_PLAIN_CONNECTION = (b"keep-alive", b"close")
#: Shared, never mutated: the response ids of an exchange that is not sampled.
_NO_IDS: dict[bytes, bytes] = {}


def filter_headers(headers: list[tuple[bytes, bytes]]) -> tuple[list[bytes], dict[bytes, bytes]]:
    """End-to-end header lines, and the values of the hop-by-hop and id headers the proxy reads.

    Headers named in ``Connection`` are dropped too. The returned dict holds lower-case names.
    This runs twice per proxied request, so the common case (no hop-by-hop header but
    ``Connection: keep-alive``) is one dict lookup per header.
    """
    lines: list[bytes] = []
    seen: dict[bytes, bytes] = {}
    special = _SPECIAL.get
    for name, value in headers:
        lower = name.lower()
        hop = special(lower)
        if hop is not None:
            if hop:
                seen[lower] = value if lower not in seen else seen[lower] + b", " + value
                continue
            seen[lower] = value
        lines.append(b"%b: %b\r\n" % (name, value))
    tokens = seen.get(b"connection")
    if tokens and tokens.lower() not in _PLAIN_CONNECTION:
        named = {t.strip().lower() for t in tokens.split(b",")} - set(_PLAIN_CONNECTION)
        if named:
            lines = [line for line in lines if line.split(b":", 1)[0].lower() not in named]
    return lines, seen


class Exchange:
    """State of one request on a client connection; see the module docstring."""

    __slots__ = (
        "chunked_request", "chunked_response", "client", "close_delimited", "context", "expect",
        "generated_id", "head_sent", "informational", "keep_alive", "method", "outbox",
        "pending_head", "replay", "request_body", "request_done", "request_ids", "request_size",
        "response_body", "response_bytes", "response_ids", "response_started", "sampled",
        "started", "status", "truncated", "upstream", "upstream_head", "url", "version",
    )  # fmt: skip

    def __init__(
        self,
        client: Client,
        method: bytes,
        url: bytes,
        version: str,
        headers: list[tuple[bytes, bytes]],
        *,
        keep_alive: bool,
        started: float,
    ) -> None:
        context = client.context
        self.client = client
        self.context = context
        self.method = method
        self.url = url
        self.version = version
        self.keep_alive = keep_alive
        self.started = started
        lines, seen = filter_headers(headers)
        self.chunked_request = b"chunked" in seen.get(b"transfer-encoding", b"").lower()
        self.expect = seen.get(b"expect", b"").lower() == b"100-continue"
        self.sampled = method == b"POST" and context.sampler.admit(
            started, always=SHADOW_COPY_HEADER in seen
        )
        self.generated_id: str | None = None
        self.request_ids = seen
        self.response_ids = _NO_IDS  # the response's id headers, kept for sampled exchanges
        if self.sampled and b"x-request-id" not in seen and b"ce-id" not in seen:
            self.generated_id = context.new_request_id()
            lines.append(b"X-Request-ID: " + self.generated_id.encode() + b"\r\n")
        if self.chunked_request:
            lines.append(b"Transfer-Encoding: chunked\r\n")
        self.upstream_head = b"".join((method, b" ", url, b" HTTP/1.1\r\n", *lines, b"\r\n"))
        self.outbox: list[bytes] | None = [self.upstream_head]
        self.replay: list[bytes] | None = [self.upstream_head]
        self.request_size = 0
        self.request_body: list[bytes] | None = [] if self.sampled else None
        self.response_body: list[bytes] | None = [] if self.sampled else None
        self.truncated = False
        self.request_done = False
        self.upstream: UpstreamConnection | None = None
        self.response_started = False
        self.informational = False
        self.pending_head: bytes | None = None
        self.head_sent = False
        self.status = 0
        self.chunked_response = False
        self.close_delimited = False
        self.response_bytes = 0

    # ---- request side -------------------------------------------------------------------------

    def start(self) -> None:
        """Become the connection's active exchange: get an upstream connection and send."""
        if self.expect and not self.request_done and self.version == "1.1":
            self.client.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        upstream = self.context.pool.take()
        if upstream is not None:
            self.attach(upstream)
        else:
            self.context.spawn(self.connect())

    async def connect(self) -> None:
        try:
            upstream = await self.context.pool.open()
        except (OSError, TimeoutError) as error:
            kind = "upstream_timeout" if isinstance(error, TimeoutError) else "upstream_unreachable"
            detail = (
                "connect timed out"
                if isinstance(error, TimeoutError)
                else str(error.strerror or error)
            )
            self.fail(
                502, kind, f"upstream {self.context.upstream_label} is unreachable ({detail})"
            )
            return
        if self.client.active is self and not self.client.closed:
            self.attach(upstream)
        else:
            self.context.pool.release(upstream)

    def attach(self, upstream: UpstreamConnection) -> None:
        """Use ``upstream``. Inside the client's ``data_received`` the write waits for the end of
        that call, so a request head and the body that came with it leave in one write."""
        self.upstream = upstream
        upstream.exchange = self
        if not self.client.feeding:
            self.flush()

    def flush(self) -> None:
        """Write the buffered request bytes to the attached upstream in one write."""
        outbox = self.outbox
        upstream = self.upstream
        if outbox is None or upstream is None or upstream.transport is None:
            return
        self.outbox = None
        upstream.transport.write(b"".join(outbox) if len(outbox) > 1 else outbox[0])
        if len(outbox) > _OUTBOX_LIMIT and not self.request_done:
            self.client.transport.resume_reading()  # paused by send() while connecting

    def send(self, data: bytes) -> None:
        if self.outbox is not None:
            self.outbox.append(data)
            if len(self.outbox) == _OUTBOX_LIMIT + 1:
                self.client.transport.pause_reading()  # until the upstream is connected
        else:
            upstream = self.upstream
            if upstream is not None and upstream.transport is not None:
                upstream.transport.write(data)
        replay = self.replay
        if replay is not None:
            replay.append(data)
            if self.request_size > _REPLAY_LIMIT:
                self.replay = None

    def on_request_body(self, body: bytes) -> None:
        self.request_size += len(body)
        copy = self.request_body
        if copy is not None:
            if self.request_size <= self.context.max_sample_bytes:
                copy.append(body)
            else:
                self.request_body = self.response_body = None
                self.truncated = True
        if self.chunked_request:
            self.send(b"%x\r\n%b\r\n" % (len(body), body))
        else:
            self.send(body)

    def on_request_complete(self) -> None:
        self.request_done = True
        if self.chunked_request:
            self.send(b"0\r\n\r\n")
        if self.outbox is not None and len(self.outbox) > _OUTBOX_LIMIT:
            self.client.transport.resume_reading()

    # ---- response side ------------------------------------------------------------------------

    def on_response_head(self, upstream: UpstreamConnection) -> None:
        status = upstream.parser.get_status_code()
        self.replay = None
        if status < 200:
            self.informational = True  # 1xx: not forwarded (Expect is answered by the proxy)
            return
        self.response_started = True
        self.status = status
        lines, seen = filter_headers(upstream.headers)
        if self.generated_id is not None and b"x-request-id" not in seen:
            lines.append(b"X-Request-ID: " + self.generated_id.encode() + b"\r\n")
        if self.sampled:
            self.response_ids = seen
        no_body = self.method == b"HEAD" or status in _NO_BODY_STATUS
        length = seen.get(b"content-length")
        if not no_body and length is None:
            if self.version == "1.1":
                self.chunked_response = True
                lines.append(b"Transfer-Encoding: chunked\r\n")
            else:
                self.close_delimited = True
                self.keep_alive = False
        if not self.request_done or self.context.draining:
            self.keep_alive = False  # the rest of the request body will not be read, or shutdown
        if not self.keep_alive:
            lines.append(b"Connection: close\r\n")
        elif self.version == "1.0":
            lines.append(b"Connection: keep-alive\r\n")
        status_line = b"HTTP/1.1 %d %b\r\n" % (status, upstream.reason)
        self.pending_head = b"".join((status_line, *lines, b"\r\n"))
        if self.method == b"HEAD":
            # httptools cannot be told that a HEAD response has no body: finish here and give the
            # connection a fresh parser for its next response.
            upstream.reset_parser()
            self.on_response_complete(upstream)

    def on_response_body(self, body: bytes) -> None:
        if not self.response_started:
            return
        self.response_bytes += len(body)
        copy = self.response_body
        if copy is not None:
            if self.response_bytes <= self.context.max_sample_bytes:
                copy.append(body)
            else:
                self.request_body = self.response_body = None
                self.truncated = True
        if self.chunked_response:
            body = b"%x\r\n%b\r\n" % (len(body), body)
        head = self.pending_head
        if head is not None:
            self.pending_head = None
            self.head_sent = True
            body = head + body
        self.client.transport.write(body)

    def on_response_complete(self, upstream: UpstreamConnection | None) -> None:
        if self.informational:
            self.informational = False  # the final response's head comes next
            return
        if not self.response_started:
            return
        self.response_started = False
        tail = b"0\r\n\r\n" if self.chunked_response else b""
        head = self.pending_head
        if head is not None:
            self.pending_head = None
            self.head_sent = True
            tail = head + tail
        if tail:
            self.client.transport.write(tail)
        if upstream is not None:
            upstream.exchange = None
            if (
                self.request_done
                and not self.close_delimited
                and upstream.parser.should_keep_alive()
            ):
                self.context.pool.release(upstream)
            else:
                upstream.close()
        self.upstream = None
        self.finish()

    def finish(self) -> None:
        context = self.context
        context.stats.observe(self.status, context.loop.time() - self.started)
        if self.sampled:
            context.offer(self)
        self.client.exchange_finished(self)

    def sample(self) -> SampleFields:
        """The copy handed to the monitor (call only for sampled, finished exchanges)."""
        ids, response_ids = self.request_ids, self.response_ids
        ce_id = ids.get(b"ce-id")
        x_request_id = ids.get(b"x-request-id") or response_ids.get(b"x-request-id")
        request_length = ids.get(b"inference-header-content-length")
        response_length = response_ids.get(b"inference-header-content-length")
        return (
            self.url.decode("latin-1"),
            self.status,
            b"".join(self.request_body or ()),
            b"".join(self.response_body or ()),
            None if ce_id is None else ce_id.decode("latin-1"),
            None if x_request_id is None else x_request_id.decode("latin-1"),
            self.generated_id,
            None if request_length is None else request_length.decode("latin-1"),
            None if response_length is None else response_length.decode("latin-1"),
            self.truncated,
        )

    # ---- failures -----------------------------------------------------------------------------

    def upstream_closed(self, upstream: UpstreamConnection) -> None:
        """The upstream connection closed while this exchange was using it."""
        if self.response_started and self.close_delimited:
            self.on_response_complete(None)  # a body delimited by the end of the connection
            return
        if not self.response_started and upstream.reused and self.replay is not None:
            replay = self.replay  # the server closed an idle keep-alive socket: retry once
            self.replay = None
            self.outbox = replay
            self.upstream = None
            self.context.spawn(self.connect())
            return
        self.upstream_failed(upstream, "the upstream closed the connection before responding")

    def upstream_failed(self, upstream: UpstreamConnection | None, message: str) -> None:
        self.upstream = None
        if self.response_started or self.head_sent:
            self.context.stats.errors["upstream_broken"] += 1
            self.status = 0
            self.client.abort()
            return
        self.fail(502, "upstream_broken", message)

    def fail(self, status: int, kind: str, message: str) -> None:
        """Answer the client ourselves (before any response byte was sent) and close."""
        if self.client.active is not self or self.head_sent:
            return
        self.context.stats.errors[kind] += 1
        upstream = self.upstream
        if upstream is not None:
            upstream.exchange = None
            upstream.close()
            self.upstream = None
        self.client.fail(status, message)
        self.status = status
        self.sampled = False
        self.finish()
