"""Shadow mirroring: a copy of each sampled request goes to a candidate model; its answer is never
returned to the client.

With ``shadow`` in the sidecar config (``spec.retraining.rollout.strategy: shadow``, the operator
sets it to the candidate's Service), the proxy hands every sampled exchange, once its response
has gone out to the client in full, to :meth:`ShadowMirror.mirror`. That only starts a task:
nothing is written to the client after it and nothing waits for it, so the client's response is
the serving model's, byte for byte, whether the shadow is fast, slow, failing or down.

The copy is a ``POST`` of the same path and body with the same ``X-Request-ID`` as the sample
(the client's, the model's or the one the sidecar generated) and ``X-Kubedrift-Shadow: 1``: the
shadow's own sidecar samples every such copy (whatever its ``sampleRate``; ``maxSamplesPerSecond``
still applies) and never copies it again, so it records the shadow's prediction for each row the
serving sidecar recorded, and both models are scored on the same rows.

Bounded: at most ``max_in_flight`` copies are open at once (more are dropped, not queued), each
has ``timeout`` seconds for the whole exchange. Outcomes are counted, never raised
(``kubedrift_shadow_requests_total{outcome}``: ``answered``, ``failed``, ``dropped``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httptools

from kubedrift.sidecar.sampling import SampleFields

logger = logging.getLogger(__name__)

#: Outcomes of a shadow copy, in the order of ``kubedrift_shadow_requests_total{outcome}``.
SHADOW_OUTCOMES: tuple[str, ...] = ("answered", "failed", "dropped")

#: Called with the sample that was mirrored, the shadow's status and its response body.
AnswerHandler = Callable[[SampleFields, int, bytes], None]


def _ignore(sample: SampleFields, status: int, body: bytes) -> None:
    pass


def shadow_request(sample: SampleFields, host: str, port: int) -> bytes | None:
    """The bytes of the copy of ``sample`` (``None``: its bodies were not kept, nothing to send).

    >>> sample = ("/v1/models/m:predict", 200, b'{"instances": [[1]]}', b"{}", None, "r-1", None,
    ...           None, None, False)
    >>> shadow_request(sample, "candidate", 8080).split(b"\\r\\n")[:2]
    [b'POST /v1/models/m:predict HTTP/1.1', b'Host: candidate:8080']
    """
    path, _, body, _, ce_id, x_request_id, generated_id, request_length, _, truncated = sample
    if truncated:
        return None
    request_id = x_request_id or generated_id
    lines = [
        b"POST %b HTTP/1.1\r\n" % path.encode("latin-1"),
        b"Host: %b:%d\r\n" % (host.encode("ascii"), port),
        b"Content-Type: application/json\r\n",
        b"Content-Length: %d\r\n" % len(body),
        b"Connection: close\r\n",
        b"X-Kubedrift-Shadow: 1\r\n",  # the shadow's sidecar samples it and copies it no further
    ]
    if request_id is not None:
        lines.append(b"X-Request-ID: %b\r\n" % request_id.encode("latin-1"))
    if ce_id is not None:
        lines.append(b"Ce-Id: %b\r\n" % ce_id.encode("latin-1"))
    if request_length is not None:
        lines.append(b"Inference-Header-Content-Length: %b\r\n" % request_length.encode("latin-1"))
    return b"".join((*lines, b"\r\n", body))


class _Response:
    """httptools callbacks collecting one response."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.body: list[bytes] = []
        self.size = 0
        self.complete = False
        self.headers_complete = False

    def on_headers_complete(self) -> None:
        self.headers_complete = True

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size <= self.limit:
            self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class ShadowMirror:
    """Sends copies of sampled requests to the shadow at ``host:port``; see the module docstring.

    ``counts`` maps each of :data:`SHADOW_OUTCOMES` to how many copies ended so, over every
    target it had (:meth:`retarget`: the counts go on, as counters must).
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        host: str,
        port: int,
        *,
        max_in_flight: int = 32,
        timeout: float = 10.0,
        max_body_bytes: int = 1 << 20,
        on_answer: AnswerHandler = _ignore,
    ) -> None:
        self.loop = loop
        self.host: str | None = host
        self.port = port
        self.max_in_flight = max_in_flight
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self.on_answer = on_answer
        self.counts = dict.fromkeys(SHADOW_OUTCOMES, 0)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def retarget(self, target: tuple[str, int] | None) -> None:
        """Copy to ``(host, port)`` from now on, or to nowhere (``None``); copies in flight
        finish where they went."""
        self.host, self.port = (None, self.port) if target is None else target

    def mirror(self, sample: SampleFields) -> None:
        """Start sending a copy of ``sample`` (none without a target); returns at once and
        never raises."""
        host, port = self.host, self.port
        if host is None:
            return
        try:
            request = shadow_request(sample, host, port)
            if request is None:
                return
            if len(self._tasks) >= self.max_in_flight:
                self.counts["dropped"] += 1
                return
            task = self.loop.create_task(self._send(sample, request, (host, port)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        except Exception:
            self.counts["failed"] += 1
            logger.exception("mirroring to the shadow failed; the request was not affected")

    async def _send(self, sample: SampleFields, request: bytes, target: tuple[str, int]) -> None:
        try:
            status, body = await asyncio.wait_for(self._exchange(request, target), self.timeout)
        except Exception as error:  # whatever the shadow does is counted, never raised
            self.counts["failed"] += 1
            logger.debug("shadow copy failed: %r", error)
            return
        if not 200 <= status < 300:
            self.counts["failed"] += 1
            return
        self.counts["answered"] += 1
        try:
            self.on_answer(sample, status, body)
        except Exception:
            logger.exception("recording the shadow's answer failed")

    async def _exchange(self, request: bytes, target: tuple[str, int]) -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection(*target)
        try:
            writer.write(request)
            response = _Response(self.max_body_bytes)
            parser = httptools.HttpResponseParser(response)
            while not response.complete:
                data = await reader.read(65536)
                if not data:
                    break
                parser.feed_data(data)
            if not response.complete and not response.headers_complete:
                raise ConnectionError("the shadow closed the connection before answering")
            return parser.get_status_code(), b"".join(response.body)
        finally:
            writer.close()

    async def close(self) -> None:
        """Cancel the copies in flight (shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
