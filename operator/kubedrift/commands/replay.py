"""The replay behind ``kubedrift backtest``: the operator's schedule, offline, on recorded rows.

Rows are replayed in order, at their times (``times``, else ``rate`` rows per second), into a
sidecar's :class:`~kubedrift.sidecar.windows.WindowKeeper` (windows rotate by
``window.samples`` rows or ``window.maxAge``, as in the sidecar); labels go back with their rows.
Every ``evaluation.interval`` of replayed time, the operator's round is played: the window it
reads (``stats.window.judged_window``), the window evaluation users read, and one step of the same
decision engine (:class:`~kubedrift.stats.engine.session.Session`) on the cumulative counts. So a
backtest predicts the operator's conditions on the same traffic: an alert is a condition turning
True (``DriftDetected``, ``PerformanceDegraded``, ``DataQualityDegraded``; a performance alarm
raised by the error rate is reported as ``ErrorRateShift``, as before, and one raised by the error
rate estimated without labels as ``EstimatedPerformanceDegraded``), and a would-be retraining
is an alert whose condition is among ``retraining.triggers``, at least ``retraining.cooldown``
after the previous one. The baseline is not replaced after a would-be retraining (there is no new
model to profile), so an alarm holds until the traffic recovers. With ``spec.segments`` the
keeper also splits the rows per segment and every round steps each segment's engine
(``stats.engine.segmented``) on its keeper, as the operator does on the sidecars' segments.

Kept apart from the command so that it can be driven with arrays (tests, the demo) and so that
the command module stays light to import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.commands.tabular_files import InputError
from kubedrift.sidecar.windows import WindowKeeper
from kubedrift.stats.baseline import Baseline
from kubedrift.stats.binning import category_keys
from kubedrift.stats.engine.engine import Decision
from kubedrift.stats.engine.estimated import REASON as ESTIMATED_REASON
from kubedrift.stats.engine.segmented import SegmentDecision, SegmentSessions
from kubedrift.stats.engine.session import Session
from kubedrift.stats.estimates import SideBySide, estimated_dict, side_by_side
from kubedrift.stats.evaluation import Evaluation, evaluate
from kubedrift.stats.performance import HIGHER_IS_BETTER
from kubedrift.stats.window import judged_window

#: The engine's conditions, in the order alerts are reported within one step.
CONDITIONS = ("DriftDetected", "PerformanceDegraded", "DataQualityDegraded")
#: Alert types named after the reason rather than the condition: the labeled error rate, and
#: the error rate estimated without labels.
_ALERT_TYPES = {
    "ErrorRateShift": "ErrorRateShift",
    ESTIMATED_REASON: "EstimatedPerformanceDegraded",
}


@dataclass(frozen=True)
class Evaluated:
    """One round: ``row`` rows replayed by ``time``; the window evaluation and the decision."""

    row: int
    evaluation: Evaluation
    decision: Decision
    time: float = 0.0
    #: Metrics estimated without labels next to the realized ones (``stats.estimates``).
    estimated: Mapping[str, SideBySide] = field(default_factory=dict)
    #: Each judged segment's decision (``spec.segments``), in the baseline's order.
    segments: tuple[SegmentDecision, ...] = ()

    @property
    def verdict(self) -> str:
        """``nodata`` while too little data and no alarm; else the engine's verdict."""
        alarmed = any(
            state is not None and state.status == "True"
            for state in (self.decision.drift, self.decision.performance, self.decision.quality)
        )
        if not self.evaluation.enough_data and not alarmed:
            return "nodata"
        return self.decision.verdict

    @property
    def decision_bound(self) -> float | None:
        """The end of the metric's interval the decision compares with the threshold: the upper
        bound when higher is better, else the lower bound; ``None`` without a metric."""
        performance = self.evaluation.performance
        if performance is None:
            return None
        if performance.metric in HIGHER_IS_BETTER:
            return performance.upper_bound
        return performance.lower_bound

    def to_dict(self) -> dict[str, Any]:
        document = self.evaluation.to_dict()
        alarmed = set(self.decision.drifted)
        evidence = {s.name: s for s in self.decision.signals if s.kind == "drift"}
        for feature in document["features"]:
            feature["window_drifted"] = feature["drifted"]
            feature["drifted"] = feature["name"] in alarmed
            if feature["name"] in evidence:
                feature["evidence"] = evidence[feature["name"]].statistic
                feature["effect"] = evidence[feature["name"]].effect
        if document["prediction"] is not None:
            document["prediction"]["window_drifted"] = document["prediction"]["drifted"]
            document["prediction"]["drifted"] = self.decision.prediction_drifted
        performance = self.evaluation.performance
        if document["performance"] is not None and performance is not None:
            document["performance"]["upper_bound"] = performance.upper_bound
            document["performance"]["decision_bound"] = self.decision_bound
        return (
            {
                "row": self.row,
                "time": self.time,
                "verdict": self.verdict,
                "samples": self.evaluation.samples,
                "labeled": self.evaluation.labeled,
                "enough_data": self.evaluation.enough_data,
                **document,
                "drift": self.decision.drift.status == "True",
                "share": self.decision.share,
                "engine": self.decision.to_dict(),
                **self._multivariate(),
                **self._embeddings(),
            }
            | ({"estimated_performance": estimated_dict(self.estimated)} if self.estimated else {})
            | (
                {"segments": [segment.to_dict() for segment in self.segments]}
                if self.segments
                else {}
            )
        )

    def _multivariate(self) -> dict[str, Any]:
        """``multivariate`` (when the engine judges it): the PCA reconstruction error's
        alarm, evidence, threshold and effect, as in ``status.drift.multivariate``."""
        found = [s for s in self.decision.signals if s.kind == "multivariate"]
        if not found:
            return {}
        signal = found[0]
        return {
            "multivariate": {
                "drifted": signal.alarmed,
                "evidence": signal.statistic,
                "threshold": signal.threshold,
                "effect": signal.effect,
            }
        }

    def _embeddings(self) -> dict[str, Any]:
        """``embeddings`` (when the engine judges a block): per block, whether it drifted and
        each derived column's evidence, threshold and effect, as in ``status.drift.embeddings``."""
        blocks: dict[str, dict[str, Any]] = {}
        for signal in self.decision.signals:
            if signal.kind != "embedding":
                continue
            _, block, column = signal.name.split("/", 2)
            entry = blocks.setdefault(block, {"drifted": False, "signals": {}})
            entry["drifted"] = entry["drifted"] or signal.alarmed
            entry["signals"][column] = {
                "drifted": signal.alarmed,
                "evidence": signal.statistic,
                "threshold": signal.threshold,
                "effect": signal.effect,
            }
        return {"embeddings": blocks} if blocks else {}


@dataclass(frozen=True)
class Alert:
    row: int
    type: str
    detail: str
    #: The condition that turned True (``type`` is ``ErrorRateShift`` for a performance alarm
    #: raised by the error rate, as before the engine).
    condition: str = ""
    time: float = 0.0


@dataclass(frozen=True)
class SegmentAlert:
    """A segment's alarm turning on: ``SegmentDriftDetected`` or ``SegmentPerformanceDegraded``
    (kept apart from ``alerts``, whose types are the monitor's conditions)."""

    row: int
    segment: str
    type: str
    detail: str
    time: float = 0.0


@dataclass(frozen=True)
class Retraining:
    row: int
    reason: str


@dataclass
class Replay:
    """Everything a backtest found; ``to_dict`` is the ``--format json`` document."""

    drift_share: float
    evaluations: list[Evaluated] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    retrainings: list[Retraining] = field(default_factory=list)
    #: The engine's threshold (log e-value) and number of detector alternatives.
    threshold: float = 0.0
    alternatives: int = 0
    #: Segment alarms turning on, and the segments' threshold (with ``spec.segments``).
    segment_alerts: list[SegmentAlert] = field(default_factory=list)
    segment_threshold: float | None = None

    def to_dict(self) -> dict[str, Any]:
        segments: dict[str, Any] = {}
        if self.segment_threshold is not None:
            segments = {
                "segment_alerts": [
                    {
                        "row": a.row,
                        "segment": a.segment,
                        "type": a.type,
                        "detail": a.detail,
                        "time": a.time,
                    }
                    for a in self.segment_alerts
                ]
            }
        return segments | {
            "evaluations": [item.to_dict() for item in self.evaluations],
            "alerts": [
                {
                    "row": a.row,
                    "type": a.type,
                    "detail": a.detail,
                    "condition": a.condition,
                    "time": a.time,
                }
                for a in self.alerts
            ],
            "retrainings": [{"row": r.row, "reason": r.reason} for r in self.retrainings],
            "engine": {"threshold": self.threshold, "alternatives": self.alternatives}
            | (
                {"segment_threshold": self.segment_threshold}
                if self.segment_threshold is not None
                else {}
            ),
        }


def load_monitor(path: Path) -> ModelMonitorSpec:
    """Parse a ModelMonitor manifest (or a bare spec) with the operator's own parser."""
    import yaml  # noqa: PLC0415

    from kubedrift.api.spec import SpecError, parse_spec  # noqa: PLC0415

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"{path}: cannot read the monitor: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise InputError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(document, Mapping):
        raise InputError(f"{path}: expected a ModelMonitor manifest")
    if "spec" in document:
        if document.get("kind", "ModelMonitor") != "ModelMonitor":
            raise InputError(f"{path}: kind is {document.get('kind')!r}, expected ModelMonitor")
        document = document["spec"]
    try:
        return parse_spec(document)
    except SpecError as error:
        raise InputError(f"{path}: {error}") from error


class _Replayer:
    """The operator's rounds over a sidecar's windows; see the module docstring."""

    def __init__(self, spec: ModelMonitorSpec, baseline: Baseline, start: float) -> None:
        from kubedrift.api.spec_settings import (  # noqa: PLC0415
            engine_contract,
            evaluation_settings,
            segment_selection,
            stated_contract,
        )

        self.baseline = baseline
        self.settings = evaluation_settings(spec)
        self.session = Session(baseline, self.settings, engine_contract(spec))
        self.interval = engine_contract(spec).interval
        self.keeper = WindowKeeper(baseline, self.settings.window, now=start, seed=0, epoch=start)
        self.result = Replay(
            self.settings.drift.drift_share,
            threshold=self.session.engine.threshold,
            alternatives=self.session.engine.alternatives,
        )
        retraining = spec.retraining
        self.triggers = set(retraining.triggers) if retraining else set()
        self.cooldown = retraining.cooldown.seconds if retraining else 0.0
        self.last_retraining: float | None = None
        self.status: dict[str, str] = {}
        selection = segment_selection(spec)
        self.segments: SegmentSessions | None = None
        if selection is not None:
            profiles = baseline.segments
            if profiles is None or profiles.feature != selection.feature:
                raise InputError(
                    f"spec.segments.feature is {selection.feature!r} but the baseline profiles "
                    f"no segments of it: build it with kubedrift baseline build --segment "
                    f"{selection.feature}"
                )
            self.segments = SegmentSessions(
                baseline, self.settings, stated_contract(spec), selection
            )
            self.result.segment_threshold = self.segments.threshold
        self.segment_status: dict[tuple[str, str], bool] = {}

    def round(self, row: int, now: float) -> None:
        """The operator's round at ``now`` after ``row`` rows."""
        self.keeper.rotate(now)
        window = judged_window(
            self.keeper.current, self.keeper.completed, self.settings.window.min_samples
        )
        assert window is not None
        evaluation = evaluate(self.baseline, window, self.settings)
        decision = self.session.decide({"replay": self.keeper.cumulative()}, window, now=now)
        confidence = self.settings.performance.confidence if self.settings.performance else 0.95
        estimated = side_by_side(window, self.baseline, confidence)
        segments = self.segment_round(row, now)
        self.result.evaluations.append(
            Evaluated(row, evaluation, decision, now, estimated, segments)
        )
        for name, state in zip(
            CONDITIONS, (decision.drift, decision.performance, decision.quality), strict=True
        ):
            if state is None:
                continue
            if state.status == "True" and self.status.get(name) != "True":
                kind = _ALERT_TYPES.get(state.reason, name)
                self.alert(row, now, kind, name, f"{state.reason}: {state.message}")
            self.status[name] = state.status

    def segment_round(self, row: int, now: float) -> tuple[SegmentDecision, ...]:
        """Step the segments' engines on their keepers (as the operator does per segment)."""
        if self.segments is None:
            return ()
        keepers = self.keeper.segments
        minimum = self.settings.window.min_samples
        decided = self.segments.decide(
            {value: {"replay": keepers[value].cumulative()} for value in self.segments.judged},
            {
                value: judged_window(keepers[value].current, keepers[value].completed, minimum)
                for value in self.segments.judged
            },
            now=now,
        )
        for segment in decided:
            for kind, on, state in (
                (
                    "SegmentDriftDetected",
                    segment.drifted,
                    segment.decision and segment.decision.drift,
                ),
                (
                    "SegmentPerformanceDegraded",
                    segment.degraded,
                    segment.decision and segment.decision.performance,
                ),
            ):
                key = (segment.value, kind)
                if on and not self.segment_status.get(key, False) and state:
                    self.result.segment_alerts.append(
                        SegmentAlert(
                            row, segment.value, kind, f"{state.reason}: {state.message}", now
                        )
                    )
                self.segment_status[key] = on
        return decided

    def alert(self, row: int, now: float, kind: str, condition: str, detail: str) -> None:
        self.result.alerts.append(Alert(row, kind, detail, condition, now))
        if condition in self.triggers and (
            self.last_retraining is None or now - self.last_retraining >= self.cooldown
        ):
            self.last_retraining = now
            self.result.retrainings.append(Retraining(row, condition))


def replay(
    spec: ModelMonitorSpec,
    baseline: Baseline,
    rows: Mapping[str, npt.NDArray[Any]],
    predictions: npt.NDArray[Any] | None,
    labels: npt.NDArray[Any] | None,
    *,
    times: npt.NDArray[np.float64] | None = None,
    rate: float = 1.0,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
    probabilities: npt.NDArray[np.float64] | None = None,
) -> Replay:
    """Replay the rows in order on the operator's schedule; see the module docstring.
    ``probabilities`` (``[rows, classes]``) are the model's class probabilities of each row,
    for performance estimated without labels."""
    size = len(next(iter(rows.values())))
    clock = times if times is not None else np.arange(size) / rate
    if size and np.any(np.diff(clock) < 0):
        raise InputError("the time column must not decrease")
    start = float(clock[0]) if size else 0.0
    replayer = _Replayer(spec, baseline, start)
    keeper, limit = replayer.keeper, replayer.settings.window.samples
    due = start + replayer.interval
    position = 0
    while position < size:
        if float(clock[position]) >= due:
            replayer.round(position, due)
            due += replayer.interval
            continue
        keeper.rotate(float(clock[position]))
        room = max(limit - keeper.current.samples, 1)
        end = min(
            position + batch,
            position + room,
            int(np.searchsorted(clock, due, side="left")),
        )
        end = max(end, position + 1)
        part = slice(position, end)
        chunk = {name: values[part] for name, values in rows.items()}
        now = float(clock[end - 1])
        keeper.update(
            chunk,
            None if predictions is None else predictions[part],
            now,
            probabilities=() if probabilities is None else probabilities[part],
        )
        if predictions is not None and labels is not None:
            _feed_labels(keeper, chunk, predictions[part], labels[part], now)
        position = end
        if progress is not None:
            progress(position)
    replayer.round(size, due)
    return replayer.result


def _feed_labels(
    keeper: WindowKeeper,
    chunk: Mapping[str, npt.NDArray[Any]],
    predictions: npt.NDArray[Any],
    labels: npt.NDArray[Any],
    now: float,
) -> None:
    present = category_keys(labels) != None  # noqa: E711 - None marks a missing label
    if not present.any():
        return
    keeper.add_labeled(
        predictions[present],
        labels[present],
        {name: values[present] for name, values in chunk.items()},
        now,
    )
