"""The proxy process: serve the request path, ship samples to the monitor process, drain on exit.

This process imports neither numpy nor aiohttp: it runs the httptools protocols of
``kubedrift.sidecar.proxy`` on the event loop and nothing else, apart from three small tasks:
the timeout sweep (once a second), the :class:`Forwarder` (queued samples go to the monitor at
most ``forwardInterval``, 250 ms, after they were queued, with a counter snapshot, or at once when
the monitor asks), and the stop handler.

On SIGTERM or SIGINT it tells the monitor it is draining (``/readyz`` turns 503), closes the
listening socket and idle connections, lets requests in flight finish for up to
``drain_timeout`` seconds (their responses carry ``Connection: close``), sends what is still
queued, and tells the monitor to stop.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
from urllib.parse import urlsplit

from kubedrift.sidecar.config import SidecarConfig, split_address
from kubedrift.sidecar.ipc import SendChannel
from kubedrift.sidecar.messages import ToProxy
from kubedrift.sidecar.proxy import ProxyContext
from kubedrift.sidecar.sampling import SampleFields, SampleQueue, Sampler
from kubedrift.sidecar.shadow import ShadowMirror
from kubedrift.sidecar.upstream import UpstreamPool

logger = logging.getLogger("kubedrift.sidecar")
STATS_INTERVAL = 1.0


async def sweep(context: ProxyContext) -> None:
    while True:
        await asyncio.sleep(1.0)
        context.sweep(context.loop.time())


class Forwarder:
    """Ships queued samples to the monitor process, off the request path.

    The first sample queued after a send arms one timer; ``interval`` later everything queued
    goes, in frames of at most ``batch_size`` samples, each with a counter snapshot, while the
    monitor keeps up (what it cannot take yet stays queued, and the timer is armed again). Without
    samples nothing wakes the process but a snapshot once a second for ``/metrics``. (A timer per
    20 ms, whether or not anything was queued, cost about a tenth of the proxy's CPU at 1000 req/s
    and 10% sampling, and each of its wake-ups could delay a request.)

    When the monitor sends ``("sync", n)`` (a label names an id it does not know), what is queued
    goes at once and ``("synced", n)`` follows it. So the interval costs the monitor wake-ups, not
    labels: at 250 ms instead of 50 ms the monitor process used about a third less CPU per sample.
    """

    def __init__(
        self,
        context: ProxyContext,
        channel: SendChannel,
        batch_size: int,
        interval: float,
        shadow_settings: tuple[int, float] = (32, 10.0),
    ) -> None:
        self.context = context
        #: ``shadow.maxInFlight`` and ``shadow.timeout``, for a mirror started at run time.
        self.shadow_settings = shadow_settings
        self.channel = channel
        self.batch_size = batch_size
        self.interval = interval
        self._timer: asyncio.TimerHandle | None = None
        self._stats: asyncio.TimerHandle | None = None
        self._sent_at = 0.0
        context.on_queued = self.queued
        channel.reader.on_message = self.answer

    def answer(self, message: ToProxy) -> None:
        """The monitor's requests: ``("sync", n)``, ``("shadow", target)``
        (``kubedrift.sidecar.messages``)."""
        if message[0] == "sync":
            if self._timer is not None:
                self._timer.cancel()
            self.send_samples()
            self.channel.send(("synced", message[1]))
        elif message[0] == "shadow":
            context, target = self.context, message[1]
            if context.shadow is not None:
                context.shadow.retarget(target)
            elif target is not None:
                context.shadow = ShadowMirror(
                    context.loop,
                    *target,
                    max_in_flight=self.shadow_settings[0],
                    timeout=self.shadow_settings[1],
                    max_body_bytes=context.max_sample_bytes,
                )
            logger.info("shadow copies now go to %s", "nowhere" if target is None else target)
        else:
            logger.warning("unexpected message from the monitor process: %r", message)

    def queued(self) -> None:
        if self._timer is None:
            self._timer = self.context.loop.call_later(self.interval, self.send_samples)

    def send_samples(self) -> bool:
        """Send what is queued while the monitor keeps up; True if anything was sent."""
        self._timer = None
        context, channel = self.context, self.channel
        queue = context.queue
        sent = False
        while len(queue) and channel.writable():
            channel.send(("samples", queue.take(self.batch_size), context.snapshot()))
            sent = True
        if sent:
            self._sent_at = context.loop.time()
        if len(queue):
            self.queued()  # the monitor is behind: try again later
        return sent

    def start(self) -> None:
        self._stats = self.context.loop.call_later(STATS_INTERVAL, self.send_stats)

    def send_stats(self) -> None:
        """A snapshot, unless a sample frame carried one within the last second."""
        loop = self.context.loop
        if loop.time() - self._sent_at >= STATS_INTERVAL * 0.9:
            self.channel.send(("stats", self.context.snapshot()))
            self._sent_at = loop.time()
        self._stats = loop.call_later(STATS_INTERVAL, self.send_stats)

    def stop(self) -> None:
        for timer in (self._timer, self._stats):
            if timer is not None:
                timer.cancel()
        self._timer = self._stats = None


async def drain(server: asyncio.Server, context: ProxyContext, timeout: float) -> None:
    """Stop accepting, close idle connections, let active ones finish (at most ``timeout`` s)."""
    context.draining = True
    server.close()
    for connection in list(context.connections):
        if connection.active is None:
            connection.close()
    deadline = context.loop.time() + timeout
    while context.connections and context.loop.time() < deadline:
        await asyncio.sleep(0.05)
    for connection in list(context.connections):
        connection.abort()


async def serve_proxy(config: SidecarConfig, channel_socket: socket.socket) -> None:
    """Run the request path until SIGTERM/SIGINT; raises ``OSError`` if the port is taken."""
    loop = asyncio.get_running_loop()
    channel = SendChannel()
    await loop.create_unix_connection(lambda: channel, sock=channel_socket)
    pool = UpstreamPool(
        config.upstream_host, config.upstream_port, connect_timeout=config.connect_timeout
    )
    queue: SampleQueue[SampleFields] = SampleQueue(config.queue_size)
    context = ProxyContext(
        loop,
        pool,
        Sampler(config.proxy_sample_rate, config.max_samples_per_second),
        queue,
        upstream_label=config.upstream,
        max_sample_bytes=config.max_sample_bytes,
        upstream_timeout=config.upstream_timeout,
        keepalive_timeout=config.keepalive_timeout,
        shadow=shadow_mirror(config, loop),
    )
    host, port = split_address(config.listen)
    server = await loop.create_server(
        context.protocol_factory(), host, port, reuse_address=True, backlog=2048
    )
    tasks = [loop.create_task(sweep(context))]
    forwarder = Forwarder(
        context,
        channel,
        config.batch_size,
        config.forward_interval,
        (config.shadow_max_in_flight, config.shadow_timeout),
    )
    forwarder.start()
    channel.send(("serving",))
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # Everything allocated so far lives as long as the process: keep the collector's full passes
    # from walking it again and again.
    gc.freeze()
    logger.info("kubedrift sidecar proxying %s -> %s", config.listen, config.upstream)
    await stop.wait()
    logger.info("shutting down: draining requests in flight for up to %.0fs", config.drain_timeout)
    channel.send(("draining",))
    await drain(server, context, config.drain_timeout)
    if context.shadow is not None:
        await context.shadow.close()  # copies still in flight are dropped, never waited for
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    forwarder.send_samples()
    forwarder.stop()
    channel.send(("stats", context.snapshot()))
    channel.send(("stop",))
    await channel.drained(timeout=5.0)
    channel.close()
    pool.close()


def shadow_mirror(config: SidecarConfig, loop: asyncio.AbstractEventLoop) -> ShadowMirror | None:
    """The mirror to ``shadow.url``, when the config names one (a shadow rollout)."""
    if config.shadow_url is None:
        return None
    target = urlsplit(config.shadow_url)
    return ShadowMirror(
        loop,
        target.hostname or "127.0.0.1",
        target.port or 80,
        max_in_flight=config.shadow_max_in_flight,
        timeout=config.shadow_timeout,
        max_body_bytes=config.max_sample_bytes,
    )
