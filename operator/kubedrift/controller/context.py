"""What every handler of one operator process shares: clients, settings, metrics, registries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from kubedrift.controller.baselines import BaselineCache
from kubedrift.controller.client import KubeClient
from kubedrift.controller.dataset import DatasetRegistry
from kubedrift.controller.event_recorder import EventRecorder
from kubedrift.controller.injection import SidecarOptions
from kubedrift.controller.job_policy import JobPolicy
from kubedrift.controller.operator_metrics import OperatorMetrics
from kubedrift.stats.engine.segmented import SegmentSessions
from kubedrift.stats.engine.session import Session


@dataclass
class OperatorContext:
    """Created once by ``kubedrift operator`` and handed to the kopf handlers through ``memo``.

    ``dataset_url`` is the base URL at which retraining Jobs reach this operator's HTTP server
    (``--dataset-url``); ``sidecar_timeout`` bounds each ``GET`` to a sidecar.
    """

    client: KubeClient
    http: aiohttp.ClientSession
    sidecar: SidecarOptions
    metrics: OperatorMetrics
    datasets: DatasetRegistry
    dataset_url: str
    sidecar_timeout: float = 5.0
    reporter: str = "kubedrift-operator"
    #: What retraining Jobs may ask for (the ServiceAccount allow-list and more).
    job_policy: JobPolicy = field(default_factory=JobPolicy)
    clock: Callable[[], float] = time.time
    #: Parsed baselines by the digest of their text, shared by monitors, bounded.
    baselines: BaselineCache = field(default_factory=BaselineCache)
    #: Runs merges and statistical tests off the event loop. One worker: the work holds the GIL
    #: most of the time, and every extra thread grows the process by its own malloc arena.
    evaluator: Executor = field(default_factory=lambda: ThreadPoolExecutor(1, "evaluate"))
    #: Tokens of each monitor's Secret by monitor uid (the Secret is written once, then read).
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Config hash last applied to each monitor's sidecar ConfigMap, by monitor uid.
    applied: dict[str, str] = field(default_factory=dict)
    #: Seconds between checks that a monitor's sidecar ConfigMap and token Secret still exist
    #: (in between, both are taken as written; ``--recheck-interval``).
    recheck_interval: float = 300.0
    #: When each monitor's ConfigMap and Secret were last checked, by monitor uid.
    checked: dict[str, float] = field(default_factory=dict)
    #: Each monitor's decision engine and the Pods' last tallies, by monitor uid (in memory: an
    #: operator restart starts the detectors again from nothing, which only delays alarms).
    engines: dict[str, Session] = field(default_factory=dict)
    #: Each monitor's segment engines (``spec.segments``), by monitor uid, kept like ``engines``.
    segment_engines: dict[str, SegmentSessions] = field(default_factory=dict)
    #: Posts the monitors' Events, counting repeats on one Event.
    events: EventRecorder = field(init=False)
    #: Webhook deliveries in flight (kept so they are not garbage-collected mid-way).
    background: set[asyncio.Task[Any]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.events = EventRecorder(self.client, self.reporter)
