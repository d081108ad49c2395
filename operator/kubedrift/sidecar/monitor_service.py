"""The monitor process: samples in, windows, labels, metrics and the admin port out.

In proxy mode it is forked by ``kubedrift.sidecar.sidecar_main`` before any event loop runs and
receives
samples and counter snapshots from the proxy process over a socketpair
(``kubedrift.sidecar.ipc``); all parsing, window updates, label joins, drift scores and admin
requests happen here, so none of them can delay a proxied request. It ignores SIGTERM and SIGINT
and stops when the proxy says so or its channel closes. In mirror mode the same service runs as
the only process, with the mirror application on the listen port.

When the local queue is nearly full it stops reading the channel; the proxy then keeps samples
in its own bounded queue, where overflow is dropped and counted.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import assert_never

from aiohttp import web
from prometheus_client import CollectorRegistry

from kubedrift.sidecar.admin import Readiness, admin_app
from kubedrift.sidecar.config import SidecarConfig, parse_options, read_token, split_address
from kubedrift.sidecar.ipc import ReceiveChannel
from kubedrift.sidecar.label_store import LabelStore
from kubedrift.sidecar.messages import ToMonitor
from kubedrift.sidecar.mirror import mirror_app
from kubedrift.sidecar.model_group import ModelGroup
from kubedrift.sidecar.monitor import Monitor
from kubedrift.sidecar.proxy_stats import ProxySnapshot
from kubedrift.sidecar.sampling import Sample, SampleQueue, Sampler
from kubedrift.sidecar.sidecar_faults import parser_from_environ
from kubedrift.sidecar.sidecar_metrics import make_metrics
from kubedrift.sidecar.windows import PodIdentity, WindowKeeper
from kubedrift.sidecar.worker import Worker
from kubedrift.stats.baseline import Baseline

logger = logging.getLogger("kubedrift.sidecar")
PROBE_INTERVAL = 2.0
#: How long ``/v1/feedback`` waits for the proxy process to send the samples it holds.
SYNC_TIMEOUT = 2.0
GC_YOUNG_THRESHOLD = 10_000


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


async def start_site(app: web.Application, address: str) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    host, port = split_address(address)
    await web.TCPSite(runner, host, port, reuse_address=True).start()
    return runner


class Inbox:
    """Receives the proxy's messages: samples into the local queue, snapshots, drain and stop;
    and asks the proxy for the samples it still holds (:meth:`sync`)."""

    def __init__(self, queue: SampleQueue[Sample], readiness: Readiness, stop: asyncio.Event):
        self.queue = queue
        self.readiness = readiness
        self.stop = stop
        self.snapshot = ProxySnapshot()
        self.channel = ReceiveChannel(self.on_message, stop.set)
        self.paused = False
        self._syncs = 0
        self._waiting: dict[int, asyncio.Future[None]] = {}

    def set_shadow(self, target: tuple[str, int] | None) -> bool:
        """Tell the proxy process where to copy sampled requests (``None``: nowhere); False
        when no proxy process listens (mirror mode, or it is gone)."""
        if self.stop.is_set() or self.channel.transport is None:
            return False
        self.channel.send(("shadow", target))
        return True

    async def sync(self, timeout: float = SYNC_TIMEOUT) -> None:
        """Return once every sample the proxy process had queued when this was called is in the
        local queue (at most ``timeout`` seconds; at once while the channel is paused, when the
        proxy keeps its samples because this process is behind)."""
        if self.paused or self.stop.is_set() or self.channel.transport is None:
            return
        self._syncs += 1
        number = self._syncs
        done = asyncio.get_running_loop().create_future()
        self._waiting[number] = done
        self.channel.send(("sync", number))
        try:
            await asyncio.wait_for(done, timeout)
        except TimeoutError:
            logger.warning("the proxy process did not answer a sync within %.1fs", timeout)
        finally:
            self._waiting.pop(number, None)

    def on_message(self, message: ToMonitor) -> None:
        if message[0] == "samples":
            offer = self.queue.offer
            for fields in message[1]:
                offer(Sample(*fields))
            self.snapshot = message[2]
            if len(self.queue) >= self.queue.capacity * 0.9 and not self.paused:
                self.paused = True
                self.channel.pause()
        elif message[0] == "stats":
            self.snapshot = message[1]
        elif message[0] == "synced":
            done = self._waiting.get(message[1])
            if done is not None and not done.done():
                done.set_result(None)
        elif message[0] == "serving":
            self.readiness.proxy_serving = True
        elif message[0] == "draining":
            self.readiness.draining = True
        elif message[0] == "stop":
            self.stop.set()
        else:
            assert_never(message)

    def current(self) -> ProxySnapshot:
        """The proxy's last snapshot, with this process's queue added to the depth and its
        overflow (a frame arriving while the queue is nearly full) to the dropped samples."""
        snapshot = self.snapshot
        depth = snapshot.queue_depth + len(self.queue)
        dropped = snapshot.samples_dropped + self.queue.dropped
        return ProxySnapshot(
            **{**snapshot.__dict__, "queue_depth": depth, "samples_dropped": dropped}
        )

    def resume_when_drained(self) -> None:
        """Read the channel again once the queue is half empty (the worker calls this)."""
        if self.paused and len(self.queue) < self.queue.capacity // 2:
            self.paused = False
            self.channel.resume()


def mirror_snapshot(queue: SampleQueue[Sample], sampler: Sampler) -> Callable[[], ProxySnapshot]:
    def current() -> ProxySnapshot:
        return ProxySnapshot(
            samples=queue.offered,
            samples_dropped=queue.dropped,
            rate_limited=sampler.limited,
            queue_depth=len(queue),
            queue_capacity=queue.capacity,
        )

    return current


async def serve_monitor(
    config: SidecarConfig,
    channel_socket: socket.socket | None,
    environ: Mapping[str, str] = os.environ,
    ready: Callable[[], None] = lambda: None,
    stopping: Callable[[], None] = lambda: None,
) -> None:
    """Run until stopped (proxy mode: by the proxy; mirror mode: SIGTERM/SIGINT).

    Raises ``OSError``/``ValueError`` on start-up problems (baseline, token, ports); ``ready`` is
    called once the admin port (and in mirror mode the listen port) accepts connections,
    ``stopping`` when the stop begins.
    """
    loop = asyncio.get_running_loop()
    metrics = make_metrics(CollectorRegistry())
    queue: SampleQueue[Sample] = SampleQueue(config.queue_size)
    parse = parser_from_environ(environ)
    monitors = []
    for entry in config.monitored:  # one per model of a shared sidecar (the config alone else)
        baseline = Baseline.from_json(Path(entry.baseline).read_text())
        monitors.append(Monitor(
            baseline, WindowKeeper(baseline, entry.window, now=time.time()),
            LabelStore(entry.label_capacity, entry.label_ttl), metrics, protocol=config.protocol,
            options=parse_options(
                entry, baseline.classes, tuple(b.name for b in baseline.embeddings)
            ),
            parse=parse, model=entry.model,
            probabilities=entry.probabilities,
        ))  # fmt: skip
    monitor = ModelGroup(monitors, [entry.sample_rate for entry in config.monitored])
    tokens = tuple(
        token for entry in config.monitored if (token := read_token(entry, environ)) is not None
    )
    readiness = Readiness()
    stop = asyncio.Event()
    inbox = Inbox(queue, readiness, stop)  # in mirror mode it never hears from a proxy
    worker = Worker(queue, monitor, batch_size=config.batch_size, interval=config.batch_interval,
                    score_interval=config.score_interval,
                    after_step=inbox.resume_when_drained)  # fmt: skip

    async def catch_up() -> None:
        """Before labels naming unknown ids are joined: fetch the samples the proxy process still
        holds, and parse everything received."""
        await inbox.sync()
        await worker.catch_up()

    pod = PodIdentity.from_environ(environ, time.time())
    runners = [
        await start_site(
            admin_app(
                monitor,
                metrics,
                pod,
                readiness,
                token=tokens,
                catch_up=catch_up,
                set_shadow=inbox.set_shadow,
            ),
            config.admin,
        )
    ]
    tasks = [loop.create_task(worker.run())]
    if channel_socket is not None:
        await loop.create_unix_connection(lambda: inbox.channel, sock=channel_socket)
        metrics.proxy.attach(inbox.current)
        tasks.append(
            loop.create_task(probe_upstream(config.upstream_host, config.upstream_port, readiness))
        )
    else:
        sampler = Sampler(config.proxy_sample_rate, config.max_samples_per_second)
        readiness.upstream_up = readiness.proxy_serving = True
        metrics.proxy.attach(mirror_snapshot(queue, sampler))
        # CloudEvents carry no path: a monitor of a named model reads it from the response
        named = any(e.model and not e.model.startswith("/") for e in config.monitored)
        app = mirror_app(queue, sampler, metrics, named_models=named)
        runners.append(await start_site(app, config.listen))
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    gc.freeze()  # see proxy_service: long-lived start-up objects stay out of full collections
    # Parsing allocates about a hundred lists and dicts per sample: at the default threshold
    # (700) a young collection ran every few samples and full ones walked the label store again
    # and again, about a fifth of the monitor's CPU (measured with gc.callbacks: 14 µs per
    # 90-feature sample; 1.5 µs at 10,000, which holds at most a few MB of young objects).
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    ready()
    logger.info("kubedrift sidecar monitor ready: mode=%s admin=%s", config.mode, config.admin)
    await stop.wait()
    stopping()
    readiness.draining = True
    for runner in runners[1:]:
        await runner.cleanup()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await worker.flush()
    await runners[0].cleanup()
    logger.info("monitor stopped")
