"""Wire the sidecar together and run it until SIGTERM, then drain.

Start-up order: read the baseline and the token (errors here exit with a message), open the admin
port, open the listen port (the proxy, or the mirror application), start the worker, the timeout
sweep and the upstream probe. On SIGTERM or SIGINT: ``/readyz`` turns 503, the listening socket
closes, idle client connections close, requests in flight finish (their responses carry
``Connection: close``) for up to ``drain_timeout`` seconds, the worker processes what is queued,
and the admin port closes last.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry

from kubedrift.sidecar.admin import Readiness, admin_app
from kubedrift.sidecar.config import SidecarConfig, read_token, split_address
from kubedrift.sidecar.labels import LabelStore
from kubedrift.sidecar.metrics import ProxySources, make_metrics
from kubedrift.sidecar.mirror import mirror_app
from kubedrift.sidecar.monitor import Monitor
from kubedrift.sidecar.proxy import ProxyContext
from kubedrift.sidecar.sampling import Sample, SampleQueue, Sampler
from kubedrift.sidecar.upstream import UpstreamPool
from kubedrift.sidecar.windows import PodIdentity, WindowKeeper
from kubedrift.sidecar.worker import Worker
from kubedrift.stats.baseline import Baseline

logger = logging.getLogger("kubedrift.sidecar")
PROBE_INTERVAL = 2.0


async def probe_upstream(host: str, port: int, readiness: Readiness) -> None:
    """Keep ``readiness.upstream_up`` current with a TCP connect every couple of seconds."""
    while True:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), PROBE_INTERVAL)
        except (OSError, TimeoutError):
            readiness.upstream_up = False
        else:
            readiness.upstream_up = True
            writer.close()
        await asyncio.sleep(PROBE_INTERVAL)


async def sweep(context: ProxyContext) -> None:
    while True:
        await asyncio.sleep(1.0)
        context.sweep(context.loop.time())


async def start_site(app: web.Application, address: str) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    host, port = split_address(address)
    await web.TCPSite(runner, host, port, reuse_address=True).start()
    return runner


async def serve(config: SidecarConfig, environ: Mapping[str, str] = os.environ) -> None:
    """Run until SIGTERM/SIGINT; raises ``OSError``/``ValueError`` on start-up problems."""
    loop = asyncio.get_running_loop()
    baseline = Baseline.from_json(Path(config.baseline).read_text())
    token = read_token(config, environ)
    metrics = make_metrics(CollectorRegistry())
    queue: SampleQueue[Sample] = SampleQueue(config.queue_size)
    sampler = Sampler(config.sample_rate, config.max_samples_per_second)
    windows = WindowKeeper(baseline, config.window, now=time.time())
    labels = LabelStore(config.label_capacity, config.label_ttl)
    monitor = Monitor(
        baseline, windows, labels, metrics, protocol=config.protocol, options=config.parse
    )
    worker = Worker(queue, monitor, batch_size=config.batch_size, interval=config.batch_interval,
                    score_interval=config.score_interval)  # fmt: skip
    readiness = Readiness()
    pod = PodIdentity.from_environ(environ, time.time())
    runners = [
        await start_site(admin_app(monitor, metrics, pod, readiness, token=token), config.admin)
    ]
    tasks = [loop.create_task(worker.run())]
    context: ProxyContext | None = None
    server: asyncio.Server | None = None
    if config.mode == "proxy":
        pool = UpstreamPool(
            config.upstream_host, config.upstream_port, connect_timeout=config.connect_timeout
        )
        context = ProxyContext(loop, pool, sampler, queue, upstream_label=config.upstream,
                               max_sample_bytes=config.max_sample_bytes,
                               upstream_timeout=config.upstream_timeout,
                               keepalive_timeout=config.keepalive_timeout)  # fmt: skip
        metrics.proxy.attach(ProxySources(context.stats, queue, sampler, pool, context))
        host, port = split_address(config.listen)
        server = await loop.create_server(
            context.protocol_factory(), host, port, reuse_address=True, backlog=2048
        )
        tasks.append(loop.create_task(sweep(context)))
        tasks.append(
            loop.create_task(probe_upstream(config.upstream_host, config.upstream_port, readiness))
        )
    else:
        readiness.upstream_up = True
        runners.append(await start_site(mirror_app(queue, sampler, metrics), config.listen))
    # Everything allocated so far (modules, the baseline, the app) lives as long as the process:
    # freezing it keeps the collector's full passes from walking it again and again, which showed
    # up as latency spikes under sampled load (docs/sidecar.md, "Performance").
    gc.freeze()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    logger.info("kubedrift sidecar ready: mode=%s listen=%s admin=%s upstream=%s",
                config.mode, config.listen, config.admin, config.upstream)  # fmt: skip
    await stop.wait()
    logger.info("shutting down: draining in-flight requests for up to %.0fs", config.drain_timeout)
    readiness.draining = True
    if server is not None and context is not None:
        await drain(server, context, config.drain_timeout)
    if len(runners) > 1:
        await runners[1].cleanup()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await worker.flush()
    if context is not None:
        context.pool.close()
    await runners[0].cleanup()
    logger.info("stopped")


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
