"""The proxy process: serve the request path, ship samples to the monitor process, drain on exit.

This process imports neither numpy nor aiohttp: it runs the httptools protocols of
``kubedrift.sidecar.proxy`` on the event loop and nothing else, apart from three small tasks:
the timeout sweep (once a second), the forwarder (every 20 ms it sends queued samples with a
counter snapshot over the channel, while the monitor keeps up), and the stop handler.

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

from kubedrift.sidecar.config import SidecarConfig, split_address
from kubedrift.sidecar.ipc import SendChannel
from kubedrift.sidecar.proxy import ProxyContext
from kubedrift.sidecar.sampling import SampleFields, SampleQueue, Sampler
from kubedrift.sidecar.upstream import UpstreamPool

logger = logging.getLogger("kubedrift.sidecar")
FORWARD_INTERVAL = 0.02
STATS_INTERVAL = 1.0


async def sweep(context: ProxyContext) -> None:
    while True:
        await asyncio.sleep(1.0)
        context.sweep(context.loop.time())


def forward_once(context: ProxyContext, channel: SendChannel, batch_size: int) -> bool:
    """Send queued samples while the monitor keeps up; True if anything was sent."""
    sent = False
    queue = context.queue
    while len(queue) and channel.writable():
        channel.send(("samples", queue.take(batch_size), context.snapshot()))
        sent = True
    return sent


async def forward(context: ProxyContext, channel: SendChannel, batch_size: int) -> None:
    """Every 20 ms: samples (each frame carries a snapshot); else a snapshot once a second."""
    last_stats = 0.0
    while True:
        await asyncio.sleep(FORWARD_INTERVAL)
        now = context.loop.time()
        if forward_once(context, channel, batch_size):
            last_stats = now
        elif now - last_stats >= STATS_INTERVAL:
            channel.send(("stats", context.snapshot()))
            last_stats = now


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
        Sampler(config.sample_rate, config.max_samples_per_second),
        queue,
        upstream_label=config.upstream,
        max_sample_bytes=config.max_sample_bytes,
        upstream_timeout=config.upstream_timeout,
        keepalive_timeout=config.keepalive_timeout,
    )
    host, port = split_address(config.listen)
    server = await loop.create_server(
        context.protocol_factory(), host, port, reuse_address=True, backlog=2048
    )
    tasks = [
        loop.create_task(sweep(context)),
        loop.create_task(forward(context, channel, config.batch_size)),
    ]
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
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    forward_once(context, channel, config.batch_size)
    channel.send(("stats", context.snapshot()))
    channel.send(("stop",))
    await channel.drained(timeout=5.0)
    channel.close()
    pool.close()
