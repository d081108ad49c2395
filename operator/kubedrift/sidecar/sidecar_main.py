"""Start the sidecar's processes and pick their event loop; the CLI's entry point.

Proxy mode runs two processes. The proxy process (this one, PID 1 in the container) serves the
request path and nothing else (``kubedrift.sidecar.proxy_service``). The monitor process, forked
before any event loop exists, parses samples, keeps the windows and labels and serves the admin port
(``kubedrift.sidecar.monitor_service``). Splitting them keeps payload parsing, window updates, drift
scores and admin requests from ever delaying a proxied request, and lets them use a second core when
the Pod has one (docs/sidecar.md, "Performance"). The monitor runs at idle CPU priority
(:func:`lower_priority`): it uses CPU time the request path does not want, yields to it at once,
and the samples it cannot keep up with are dropped and counted. Mirror mode has no request path
and runs the monitor service alone.

The proxy starts serving only after the monitor reported that its ports are open (or the start-up
error, which is printed; exit code 2). If the monitor process dies later the proxy keeps
forwarding (samples are then dropped and ``/healthz`` stops answering, so a liveness probe restarts
the container).

uvloop is used when ``event_loop`` is ``auto`` and it is installed, or when asked for explicitly
(then its absence is an error).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Coroutine
from multiprocessing.connection import Connection
from typing import Any

from kubedrift.sidecar.config import ConfigError, SidecarConfig

logger = logging.getLogger("kubedrift.sidecar")
#: ``prctl`` option: the signal this process gets when its parent ends (linux/prctl.h).
PR_SET_PDEATHSIG = 1
#: Seconds the proxy waits for the monitor process to open its ports.
MONITOR_START_TIMEOUT = 120.0
#: Seconds the proxy process, done with its own drain, waits for the monitor to stop (it parses
#: what is still queued and closes its admin port) before killing it.
MONITOR_STOP_TIMEOUT = 10.0
#: Added to the monitor process's niceness: under CPU contention it gets about a tenth of the
#: proxy's share (CFS weights 110 vs 1024), enough to keep ``/healthz`` and ``/metrics``
#: answering while the request path keeps the core.
MONITOR_NICENESS = 10


def run_loop(main: Coroutine[Any, Any, None], event_loop: str) -> None:
    if event_loop in ("auto", "uvloop"):
        try:
            import uvloop  # noqa: PLC0415 - optional
        except ImportError:
            if event_loop == "uvloop":
                main.close()
                raise ConfigError(
                    "eventLoop: uvloop is not installed (pip install 'kubedrift[fast]')"
                ) from None
        else:
            uvloop.run(main)
            return
    asyncio.run(main)


def lower_priority(priority: str) -> None:
    """Make this (the monitor) process yield the CPU to the proxy and the model.

    ``idle``: the ``SCHED_IDLE`` policy (Linux) on top of niceness ``MONITOR_NICENESS``: the
    monitor runs on CPU time nothing else in its cgroup wants and is preempted as soon as another
    task wakes up. ``low``: niceness only. A nice task still keeps the CPU until its time slice
    ends when another wakes (the EEVDF scheduler of Linux 6.6 and later), so while it parses, the
    proxy's wake-ups wait, and under saturation it took 0.6 of a core from a 2-core machine's
    proxy, wrk and model (docs/sidecar.md, "Performance").
    """
    os.nice(MONITOR_NICENESS)
    if priority != "idle":
        return
    idle = getattr(os, "SCHED_IDLE", None)
    if idle is None:
        logger.warning("no SCHED_IDLE on this platform: the monitor runs at niceness +%d only",
                       MONITOR_NICENESS)  # fmt: skip
        return
    try:
        os.sched_setscheduler(0, idle, os.sched_param(0))
    except OSError as error:
        logger.warning("could not set SCHED_IDLE for the monitor (%s): niceness only", error)


def restore_priority() -> None:
    """Leave ``SCHED_IDLE`` for the stop: on a saturated CPU an idle task gets almost no time,
    and the proxy process waits for this one. Leaving it needs ``CAP_SYS_NICE`` or a
    ``RLIMIT_NICE`` that allows the niceness; without them the monitor stays idle and the proxy
    kills it after ``MONITOR_STOP_TIMEOUT``."""
    idle = getattr(os, "SCHED_IDLE", None)
    if idle is None or os.sched_getscheduler(0) != idle:
        return
    try:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    except OSError as error:
        logger.info("the monitor stops at idle priority (%s)", error)


def die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when ``parent`` (the process that forked it) ends;
    exit at once if it already has. Linux only (``prctl(PR_SET_PDEATHSIG)``); elsewhere the
    channel's end is the only signal."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            logger.warning("prctl(PR_SET_PDEATHSIG) failed: %s", os.strerror(ctypes.get_errno()))
    if os.getppid() != parent:  # the parent died before the request above took effect
        os._exit(0)


def monitor_entry(
    config: SidecarConfig,
    channel: socket.socket,
    status: Connection,
    proxy_end: socket.socket,
    parent: int,
) -> None:
    """The monitor process: report "ok" or the start-up error through ``status``, then serve.

    ``proxy_end`` is the proxy's end of the channel, inherited through the fork: closing it here
    makes the channel end (and this process stop) when the proxy process dies, even by SIGKILL.
    The monitor ignores SIGTERM (the proxy decides when it stops), so it also dies with its
    ``parent``: a proxy that died before the channel was watched must not leave it running.
    It starts at normal priority (imports and start-up would take minutes as an idle task on a
    busy CPU), lowers it once ready and leaves ``SCHED_IDLE`` again when it stops.
    """
    die_with_parent(parent)
    proxy_end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the proxy process decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from kubedrift.sidecar.monitor_service import serve_monitor  # noqa: PLC0415 - not in the proxy

    def ready() -> None:
        lower_priority(config.monitor_priority)
        status.send("ok")

    try:
        run_loop(
            serve_monitor(config, channel, ready=ready, stopping=restore_priority),
            config.event_loop,
        )
    except (OSError, ValueError) as error:
        status.send(f"{error}")
        sys.exit(2)


def run_sidecar(config: SidecarConfig) -> int:
    """Run until SIGTERM; 0 on a clean stop, 2 on a start-up error (printed without a traceback)."""
    if config.mode == "mirror":
        from kubedrift.sidecar.monitor_service import serve_monitor  # noqa: PLC0415

        return _guarded(lambda: run_loop(serve_monitor(config, None), config.event_loop))
    from kubedrift.sidecar.proxy_service import serve_proxy  # noqa: PLC0415

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    proxy_end, monitor_end = socket.socketpair()
    child = context.Process(
        target=monitor_entry,
        args=(config, monitor_end, send, proxy_end, os.getpid()),
        name="kubedrift-monitor",
    )
    child.start()
    monitor_end.close()
    send.close()
    try:
        status = (
            receive.recv()
            if receive.poll(MONITOR_START_TIMEOUT)
            else "the monitor did not start in time"
        )
    except EOFError:
        status = "the monitor process exited during start-up"
    if status != "ok":
        print(f"kubedrift sidecar: {status}", file=sys.stderr)
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
        return 2
    try:
        return _guarded(lambda: run_loop(serve_proxy(config, proxy_end), config.event_loop))
    finally:
        proxy_end.close()
        child.join(timeout=MONITOR_STOP_TIMEOUT)
        if child.is_alive():
            logger.error("the monitor process did not stop; killing it")
            child.kill()
            child.join()


def _guarded(run: Any) -> int:
    try:
        run()
    except (OSError, ValueError) as error:
        print(f"kubedrift sidecar: {error}", file=sys.stderr)
        return 2
    return 0
