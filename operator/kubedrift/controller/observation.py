"""One evaluation of a monitor: find its sidecars, pull their windows, merge, evaluate.

The pure part decides which Pods count (:func:`reporting_pods`: ready, with an IP, not being
deleted, and running the Deployment's current template, so Pods still draining after a rollout
or a config change do not mix old windows into new ones) and how reports merge
(:func:`merge_reports`). :func:`observe` does the I/O: one ``GET /v1/window`` per Pod, all at
once, each with a timeout. An unreachable sidecar, or one whose window does not fit the
baseline, is counted as not reporting; it never fails the evaluation.

Each sidecar reports its ``current`` window, its last ``completed`` one and its ``cumulative``
counts. The merged current windows are evaluated when they hold at least ``window.minSamples``
samples; otherwise the completed windows are merged in, so a window that has just rotated does not
read as NoData (``stats.window.judged_window``). The decision is the engine's
(``stats.engine``): the monitor's :class:`~kubedrift.stats.engine.session.Session` takes the
increment of the cumulative counts since its previous round; the window evaluation is what users
read (per-feature tests, the metric and its interval).

With ``spec.segments`` each report also carries ``segments`` (per segment value the same three
documents over the segment's reference): they merge the same way, per segment, and the monitor's
:class:`~kubedrift.stats.engine.segmented.SegmentSessions` steps each segment's engine on them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp

from kubedrift.controller.client import KubeClient, core
from kubedrift.controller.evaluated_status import Observation
from kubedrift.controller.label_selectors import selector_query
from kubedrift.controller.names import (
    CANDIDATE_ROLE,
    CONFIG_HASH_ANNOTATION,
    MODEL_ROLE_LABEL,
    MODEL_VERSION_ANNOTATION,
)
from kubedrift.stats.baseline import Baseline
from kubedrift.stats.engine.segmented import SegmentDecision, SegmentSessions
from kubedrift.stats.engine.session import Session
from kubedrift.stats.engine.tally import Tally
from kubedrift.stats.estimates import side_by_side
from kubedrift.stats.evaluation import evaluate
from kubedrift.stats.segments import segment_references, segment_window_settings
from kubedrift.stats.settings import EvaluationSettings, WindowSettings
from kubedrift.stats.window import Window, judged_window
from kubedrift.stats.window_plan import WindowPlan, shared_plan
from kubedrift.wire import WINDOW_PATH, WINDOW_ROWS_PARAMETER

#: Pod-template annotations that must match for a Pod to count as current.
_TEMPLATE_KEYS = (CONFIG_HASH_ANNOTATION, MODEL_VERSION_ANNOTATION)


def model_path(path: str, model: str | None) -> str:
    """``path`` for one model's monitor of a sidecar (``?model=``; unchanged for ``None``).

    >>> model_path("/v1/window", "iris"), model_path("/v1/window", None)
    ('/v1/window?model=iris', '/v1/window')
    """
    return path if model is None else f"{path}?{urlencode({'model': model})}"


def window_path(model: str | None) -> str:
    """The ``GET /v1/window`` of a round: without the labeled-row samples (the round never
    reads them; see ``kubedrift.wire``), of one model's monitor when ``model`` is given.

    >>> window_path(None), window_path("iris")
    ('/v1/window?labeledRows=false', '/v1/window?labeledRows=false&model=iris')
    """
    query = {WINDOW_ROWS_PARAMETER: "false"} | ({"model": model} if model is not None else {})
    return f"{WINDOW_PATH}?{urlencode(query)}"


@dataclass(frozen=True)
class Sidecar:
    """Where one Pod's sidecar admin API answers."""

    pod: str
    url: str


def reporting_pods(
    pods: Iterable[Mapping[str, Any]], deployment: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    """The Pods whose sidecars should report: ready, addressed, current template."""
    template = deployment.get("spec", {}).get("template", {}).get("metadata", {})
    wanted = {key: (template.get("annotations") or {}).get(key) for key in _TEMPLATE_KEYS}
    chosen = []
    for pod in pods:
        metadata = pod.get("metadata", {})
        status = pod.get("status", {})
        annotations = metadata.get("annotations") or {}
        if metadata.get("deletionTimestamp") or not status.get("podIP"):
            continue
        if any(annotations.get(key) != value for key, value in wanted.items()):
            continue
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        if ready:
            chosen.append(pod)
    return sorted(chosen, key=lambda p: str(p["metadata"].get("name")))


def sidecars(pods: Iterable[Mapping[str, Any]], admin_port: int) -> list[Sidecar]:
    return [
        Sidecar(str(p["metadata"]["name"]), f"http://{p['status']['podIP']}:{admin_port}")
        for p in pods
    ]


async def ready_sidecars(
    client: KubeClient, namespace: str, deployment: Mapping[str, Any], admin_port: int
) -> list[Sidecar]:
    """The sidecars of the target Deployment's Pods (its selector) that should report.

    A canary's candidate Pods carry the serving Deployment's labels (so its Service sends them
    traffic); they are the candidate's, not the serving model's, and are left out unless
    ``deployment`` is the candidate's own (its selector asks for the candidate role).
    """
    selector = deployment.get("spec", {}).get("selector") or {}
    pods = await client.list_items(core(namespace, "pods"), selector_query(selector))
    if not is_candidate_pod({"metadata": {"labels": selector.get("matchLabels") or {}}}):
        pods = [pod for pod in pods if not is_candidate_pod(pod)]
    return sidecars(reporting_pods(pods, deployment), admin_port)


def is_candidate_pod(pod: Mapping[str, Any]) -> bool:
    """Whether ``pod`` serves the candidate of a live trial (``kubedrift.io/model-role``)."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return labels.get(MODEL_ROLE_LABEL) == CANDIDATE_ROLE


@dataclass(frozen=True)
class Merged:
    """The merged current and completed windows of the sidecars that reported."""

    current: Window | None
    completed: Window | None
    reporting: int
    #: Each reporting Pod's cumulative counts, by Pod name.
    tallies: Mapping[str, Tally] = field(default_factory=dict)
    #: The same per segment value (``spec.segments``), when the baseline profiles segments.
    segments: Mapping[str, Merged] = field(default_factory=dict)

    def chosen(self, min_samples: int) -> Window | None:
        """The window to evaluate; see the module docstring."""
        return judged_window(self.current, self.completed, min_samples)


def merge_reports(
    reports: Sequence[Mapping[str, Any] | None],
    baseline: Baseline,
    settings: EvaluationSettings,
) -> Merged:
    """Merge ``GET /v1/window`` documents; ``None`` or unfitting reports do not count."""
    merged = _merge(reports, baseline, settings.window)
    if baseline.segments is None:
        return merged
    window_settings = segment_window_settings(settings.window)
    segments = {}
    for value, reference in segment_references(baseline).items():
        parts = [
            _segment_report(report, value) if report is not None else None for report in reports
        ]
        segments[value] = _merge(parts, reference, window_settings)
    return Merged(merged.current, merged.completed, merged.reporting, merged.tallies, segments)


def _segment_report(report: Mapping[str, Any], value: str) -> Mapping[str, Any] | None:
    """One segment's documents of a report, under the report's Pod; ``None`` without them."""
    found = (report.get("segments") or {}).get(value)
    if not isinstance(found, Mapping):
        return None
    return {**found, "pod": report.get("pod")}


def _merge(
    reports: Sequence[Mapping[str, Any] | None], baseline: Baseline, settings: WindowSettings
) -> Merged:
    current: Window | None = None
    completed: Window | None = None
    reporting = 0
    tallies: dict[str, Tally] = {}
    plan: WindowPlan | None = None  # the baseline's, shared by every window rebuilt
    for report in reports:
        if report is None:
            continue
        try:
            if plan is None:
                plan = shared_plan(baseline)
            mine = Window.from_dict(report["current"], baseline, settings, plan=plan)
            done = report.get("completed")
            finished = (
                Window.from_dict(done, baseline, settings, plan=plan) if done is not None else None
            )
            cumulative = report.get("cumulative")
            tally = (
                Tally.from_dict(cumulative, mine.profiles, baseline.calibration)
                if cumulative is not None
                else None
            )
        except (KeyError, TypeError, ValueError):
            continue
        reporting += 1
        if tally is not None:
            tallies[str((report.get("pod") or {}).get("name", reporting))] = tally
        current = mine if current is None else current.merge(mine)
        if finished is not None:
            completed = finished if completed is None else completed.merge(finished)
    return Merged(current, completed, reporting, tallies)


def observation_from(  # noqa: PLR0917 - the session and clock come last, optional
    merged: Merged,
    desired: int,
    baseline: Baseline,
    settings: EvaluationSettings,
    session: Session | None = None,
    now: float = 0.0,
    segments: SegmentSessions | None = None,
) -> Observation:
    """Evaluate the chosen merged window (no window, no evaluation: NoData) and, with a
    ``session``, step its engine on the round's increment (and each segment's, with
    ``segments``)."""
    window = merged.chosen(settings.window.min_samples)
    decision = None if session is None else session.decide(merged.tallies, window, now=now)
    decided: tuple[SegmentDecision, ...] = ()
    if segments is not None:
        minimum = settings.window.min_samples
        decided = segments.decide(
            {value: part.tallies for value, part in merged.segments.items()},
            {value: part.chosen(minimum) for value, part in merged.segments.items()},
            now=now,
        )
    if window is None:
        return Observation(None, desired, merged.reporting, decision=decision, segments=decided)
    result = evaluate(baseline, window, settings)
    confidence = settings.performance.confidence if settings.performance else 0.95
    return Observation(
        result,
        desired,
        merged.reporting,
        window.start,
        window.end,
        decision,
        estimated=side_by_side(window, baseline, confidence),
        segments=decided,
    )


async def call_sidecar(
    session: aiohttp.ClientSession,
    url: str,
    token: str | None,
    timeout: float,
    *,
    document: Any = None,
    headers: Mapping[str, str] | None = None,
    method: str | None = None,
) -> Any:
    """``GET url`` (or ``POST`` ``document`` as JSON; ``method`` another) and return the JSON
    answer; ``None`` on any network error, timeout or non-200 answer: a silent sidecar is
    counted, never fatal."""
    sent = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
    method = method or ("GET" if document is None else "POST")
    try:
        async with session.request(
            method,
            url,
            json=document,
            headers=sent,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            if response.status != 200:
                return None
            return await response.json()
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None


async def pull(
    session: aiohttp.ClientSession,
    targets: Sequence[Sidecar],
    path: str,
    token: str | None,
    timeout: float,
) -> list[Any]:
    """``GET path`` on every sidecar at once; ``None`` for each that did not answer."""
    return list(
        await asyncio.gather(
            *(call_sidecar(session, t.url + path, token, timeout) for t in targets)
        )
    )


async def observe(
    session: aiohttp.ClientSession,
    targets: Sequence[Sidecar],
    baseline: Baseline,
    settings: EvaluationSettings,
    *,
    token: str | None,
    timeout: float,
    executor: Executor | None = None,
    engine: Session | None = None,
    now: float = 0.0,
    segments: SegmentSessions | None = None,
    model: str | None = None,
) -> Observation:
    """Pull every sidecar's window, merge, evaluate and step ``engine`` (and ``segments``);
    the numeric work runs on ``executor`` (a thread pool; the default one when ``None``), off
    the event loop. ``model``: the window of that model (``spec.target.model``; a shared
    sidecar has one each)."""
    reports = await pull(session, targets, window_path(model), token, timeout)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        executor,
        _merge_and_evaluate,
        reports,
        len(targets),
        baseline,
        settings,
        engine,
        now,
        segments,
    )


def _merge_and_evaluate(  # noqa: PLR0917 - private, one caller through run_in_executor
    reports: Sequence[Any],
    desired: int,
    baseline: Baseline,
    settings: EvaluationSettings,
    engine: Session | None,
    now: float,
    segments: SegmentSessions | None,
) -> Observation:
    merged = merge_reports(
        [r if isinstance(r, Mapping) else None for r in reports], baseline, settings
    )
    return observation_from(merged, desired, baseline, settings, engine, now, segments)
