"""Assemble and run one operator process: kopf, the HTTP server, shared clients.

:func:`run_operator` is what ``kubedrift operator`` calls. It stops cleanly on SIGINT/SIGTERM:
kopf stops the per-monitor daemons, then the server and the HTTP sessions close. It stops the same
way when kopf gave up a watch (``watch_health``), and the command exits with status 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import signal
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import aiohttp
import kopf
from aiohttp import web
from kopf._core.engines.peering import Identity  # kopf's NewType of str, not re-exported
from prometheus_client import CollectorRegistry, ProcessCollector

from kubedrift.controller import handlers
from kubedrift.controller.client import KubeClient
from kubedrift.controller.context import OperatorContext
from kubedrift.controller.dataset import DatasetRegistry
from kubedrift.controller.feedback import FeedbackService, MonitorLookup
from kubedrift.controller.heap import trim_heap_until
from kubedrift.controller.injection import SidecarOptions
from kubedrift.controller.job_policy import JobPolicy
from kubedrift.controller.operator_faults import StaleWrites
from kubedrift.controller.operator_metrics import make_metrics
from kubedrift.controller.server import operator_app
from kubedrift.controller.watch_health import KopfTaskFailures

logger = logging.getLogger("kubedrift.operator")


@dataclass(frozen=True)
class OperatorOptions:
    """The ``kubedrift operator`` flags, parsed."""

    namespaces: Sequence[str]
    all_namespaces: bool
    sidecar_image: str
    listen_host: str = "0.0.0.0"
    listen_port: int = 8080
    dataset_url: str | None = None
    kubeconfig: str | None = None
    peering: str | None = None
    sidecar_timeout: float = 5.0
    reporter: str = "kubedrift-operator"
    #: ServiceAccounts a retraining Job may run as (besides the namespace's default).
    retraining_service_accounts: Sequence[str] = ()
    #: Seconds after which the API server ends each watch request (kopf then resumes it).
    watch_timeout: int = handlers.WATCH_TIMEOUT
    #: Seconds between checks that each monitor's sidecar ConfigMap and token Secret exist.
    recheck_interval: float = 300.0
    #: Test-only fault injection (:mod:`kubedrift.controller.operator_faults`); none in production.
    faults: StaleWrites | None = None


def default_dataset_url(options: OperatorOptions) -> str:
    """Where Jobs reach the server when ``--dataset-url`` is not given: the Pod IP (in a Pod) or
    the listen address."""
    host = options.listen_host
    if host in ("0.0.0.0", "::", ""):
        host = os.environ.get("POD_IP", "127.0.0.1")
    return f"http://{host}:{options.listen_port}"


def operator_identity(
    environ: Mapping[str, str],
    *,
    user: Callable[[], str] = getpass.getuser,
    uid: int | None = None,
    host: str | None = None,
    pid: int | None = None,
) -> str:
    """The name this operator gives itself in kopf's peering: the Pod's name (``POD_NAME`` from
    the downward API, as the chart sets it, or kopf's own ``POD_ID``), else ``user@host/pid``.

    kopf, left to itself, asks ``getpass.getuser()``, which raises for a uid without a passwd
    entry: the arbitrary uid a platform assigns (OpenShift's restricted SCC) would stop the
    operator at start. Such a user is named by its number here.
    """
    for variable in ("POD_NAME", "POD_ID"):
        if environ.get(variable):
            return environ[variable]
    try:
        name = user()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER/LNAME/USERNAME
        name = f"uid-{os.getuid() if uid is None else uid}"
    where = socket.gethostname() if host is None else host
    return f"{name}@{where}/{os.getpid() if pid is None else pid}"


async def run_operator(options: OperatorOptions) -> str | None:
    """Run until SIGINT/SIGTERM, or until kopf gave up a watch: then answer what it gave up."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    datasets = DatasetRegistry()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    client = KubeClient.from_environment(options.kubeconfig, faults=options.faults)
    # Each sidecar is asked for its window once per round, further apart than aiohttp's default
    # 15 s keep-alive, so pooled connections mostly held a socket and its buffers per Pod between
    # rounds (about 20 KB a monitor at 30 s). Labels fanned out in bursts still reuse them.
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(keepalive_timeout=2))
    metrics = make_metrics(registry)
    client.on_conflict = metrics.record_conflict
    client.on_request = metrics.record_request
    ctx = OperatorContext(
        client=client,
        http=http,
        sidecar=SidecarOptions(image=options.sidecar_image),
        metrics=metrics,
        datasets=datasets,
        dataset_url=(options.dataset_url or default_dataset_url(options)).rstrip("/"),
        sidecar_timeout=options.sidecar_timeout,
        reporter=options.reporter,
        job_policy=JobPolicy(frozenset(options.retraining_service_accounts)),
        recheck_interval=options.recheck_interval,
    )
    kopf_registry = kopf.OperatorRegistry()
    handlers.register(kopf_registry)
    settings = kopf.OperatorSettings()
    handlers.configure(
        settings,
        peering=options.peering,
        reporter=options.reporter,
        watch_timeout=options.watch_timeout,
    )
    labels = FeedbackService(
        lookup=MonitorLookup(client, None if options.all_namespaces else tuple(options.namespaces)),
        http=http,
        timeout=options.sidecar_timeout,
        record=metrics.record_labels,
    )
    kopf_tasks = KopfTaskFailures(on_failure=stop.set).attach()
    operator_task: asyncio.Task[None] | None = None

    def problem() -> str | None:
        if operator_task is not None and operator_task.done():
            return "operator stopped"
        return kopf_tasks.problem()

    async with contextlib.AsyncExitStack() as cleanup:
        # Closed in reverse order, each even when an earlier one fails.
        cleanup.push_async_callback(client.close)
        cleanup.push_async_callback(http.close)
        cleanup.callback(kopf_tasks.detach)
        # The trimmer and the server start before kopf: kopf cancels, at its end, every task
        # that did not exist when it started (its "hung" tasks), and a cancelled trimmer ended
        # the shutdown with a CancelledError before the sessions were closed.
        trimmer = asyncio.create_task(trim_heap_until(stop))
        cleanup.push_async_callback(_finished, trimmer)
        app = operator_app(registry, datasets, problem, labels=labels)
        runner = web.AppRunner(app)
        await runner.setup()
        cleanup.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, options.listen_host, options.listen_port)
        await site.start()
        logger.info(
            "serving /healthz, /metrics, datasets and feedback on %s:%s",
            options.listen_host,
            options.listen_port,
        )
        operator_task = asyncio.create_task(
            kopf.operator(
                registry=kopf_registry,
                settings=settings,
                clusterwide=options.all_namespaces,
                namespaces=list(options.namespaces),
                standalone=options.peering is None,
                peering_name=options.peering,
                identity=Identity(operator_identity(os.environ)),
                memo=kopf.Memo(ctx=ctx),
                stop_flag=stop,
            )
        )
        try:
            await operator_task
        except Exception:
            if kopf_tasks.problem() is None:
                raise
            # kopf may also re-raise what ended the watcher: already logged, answered below.
        finally:
            stop.set()
            if not operator_task.done():
                operator_task.cancel()
            await _finished(operator_task)
    return kopf_tasks.problem()


async def _finished(task: asyncio.Task[None]) -> None:
    """Wait until ``task`` has ended, whether it returned, failed or was cancelled (what it
    raised is not this caller's: kopf logs its own failures)."""
    await asyncio.wait([task])
