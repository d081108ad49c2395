"""The replay behind ``kubedrift backtest``: rows in order through windows, evaluations, alerts.

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
from kubedrift.commands.tables import InputError
from kubedrift.stats.baseline import Baseline
from kubedrift.stats.binning import category_keys
from kubedrift.stats.calibration import cusum_threshold
from kubedrift.stats.detectors import CUSUM
from kubedrift.stats.evaluation import Evaluation, evaluate
from kubedrift.stats.labels import error_stream
from kubedrift.stats.settings import EvaluationSettings
from kubedrift.stats.window import Window

#: Mean number of labeled samples between false alarms of the error-stream CUSUM.
ERROR_STREAM_RUN_LENGTH = 10_000


@dataclass(frozen=True)
class Evaluated:
    row: int
    evaluation: Evaluation

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "verdict": self.evaluation.verdict,
            "samples": self.evaluation.samples,
            "labeled": self.evaluation.labeled,
            "enough_data": self.evaluation.enough_data,
            **self.evaluation.to_dict(),
        }


@dataclass(frozen=True)
class Alert:
    row: int
    type: str
    detail: str


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "evaluations": [item.to_dict() for item in self.evaluations],
            "alerts": [{"row": a.row, "type": a.type, "detail": a.detail} for a in self.alerts],
            "retrainings": [{"row": r.row, "reason": r.reason} for r in self.retrainings],
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
    def __init__(
        self, spec: ModelMonitorSpec, baseline: Baseline, settings: EvaluationSettings, start: float
    ) -> None:
        self.baseline = baseline
        self.settings = settings
        self.result = Replay(settings.drift.drift_share)
        self.window = Window(baseline, settings.window, seed=0, start=start)
        self.windows = 1
        retraining = spec.retraining
        self.triggers = set(retraining.triggers) if retraining else set()
        self.cooldown = retraining.cooldown.seconds if retraining else 0.0
        self.last_retraining: float | None = None
        self.drifting = False
        self.degraded = False
        self.error_shifted = False
        self.detector: CUSUM | None = None
        p0 = baseline.performance.get("error-rate")
        if baseline.task == "classification" and p0 is not None and 0 < p0 < 1:
            self.detector = CUSUM(
                mean=p0, family="bernoulli", threshold=cusum_threshold(ERROR_STREAM_RUN_LENGTH)
            )

    def rotate(self, row: int, now: float, next_start: float) -> None:
        evaluation = evaluate(self.baseline, self.window, self.settings)
        self.result.evaluations.append(Evaluated(row, evaluation))
        if evaluation.enough_data:
            if evaluation.drift and not self.drifting:
                drifted = ", ".join(f.name for f in evaluation.features if f.drifted) or "-"
                prediction = (
                    " and the prediction"
                    if (evaluation.prediction and evaluation.prediction.drifted)
                    else ""
                )
                self.alert(
                    row,
                    now,
                    "DriftDetected",
                    f"share {evaluation.share:.2f}; drifted: {drifted}{prediction}",
                )
            self.drifting = evaluation.drift
        performance = evaluation.performance
        if performance is not None and performance.samples >= (
            self.settings.performance.min_labeled_samples if self.settings.performance else 0
        ):
            if performance.degraded and not self.degraded:
                self.alert(
                    row,
                    now,
                    "PerformanceDegraded",
                    f"{performance.metric} {performance.value:.4f} vs threshold "
                    f"{performance.threshold:.4f} on {performance.samples} labels",
                )
            self.degraded = performance.degraded
            self.error_shifted = self.error_shifted and performance.degraded
        self.window = Window(
            self.baseline, self.settings.window, seed=self.windows, start=next_start
        )
        self.windows += 1

    def alert(self, row: int, now: float, kind: str, detail: str) -> None:
        self.result.alerts.append(Alert(row, kind, detail))
        if kind in self.triggers and (
            self.last_retraining is None or now - self.last_retraining >= self.cooldown
        ):
            self.last_retraining = now
            self.result.retrainings.append(Retraining(row, kind))

    def feed_errors(self, first_row: int, errors: npt.NDArray[np.float64], now: float) -> None:
        if self.detector is None:
            return
        for offset, value in enumerate(errors.tolist()):
            if self.detector.update(value).drift_detected and not self.error_shifted:
                self.error_shifted = True
                self.alert(
                    first_row + offset,
                    now,
                    "ErrorRateShift",
                    f"CUSUM on the error stream against the reference error rate "
                    f"{self.detector.mean:.4f}",
                )


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
) -> Replay:
    """Replay the rows in order; see ``kubedrift.commands.backtest`` for the rules."""
    from kubedrift.api.settings import evaluation_settings  # noqa: PLC0415

    settings = evaluation_settings(spec)
    size = len(next(iter(rows.values())))
    clock = times if times is not None else np.arange(size) / rate
    replayer = _Replayer(spec, baseline, settings, float(clock[0]))
    limit, age = settings.window.samples, settings.window.max_age_seconds
    position = 0
    while position < size:
        window = replayer.window
        end = min(position + batch, size, position + limit - window.samples)
        aged = np.flatnonzero(clock[position:end] - window.start >= age)
        if aged.size and aged[0] == 0:
            replayer.rotate(position, float(clock[position]), float(clock[position]))
            continue
        if aged.size:
            end = position + int(aged[0])
        part = slice(position, end)
        chunk = {name: values[part] for name, values in rows.items()}
        window.update(
            chunk, None if predictions is None else predictions[part], now=float(clock[end - 1])
        )
        if predictions is not None and labels is not None:
            _feed_labels(
                replayer, position, chunk, predictions[part], labels[part], float(clock[end - 1])
            )
        position = end
        if progress is not None:
            progress(position)
        if window.samples >= limit:
            following = float(clock[position]) if position < size else float(clock[-1])
            replayer.rotate(position, float(clock[position - 1]), following)
    if replayer.window.samples:
        replayer.rotate(size, float(clock[-1]), float(clock[-1]))
    return replayer.result


def _feed_labels(  # noqa: PLR0917 - private helper with one caller
    replayer: _Replayer,
    first_row: int,
    chunk: Mapping[str, npt.NDArray[Any]],
    predictions: npt.NDArray[Any],
    labels: npt.NDArray[Any],
    now: float,
) -> None:
    present = category_keys(labels) != None  # noqa: E711 - None marks a missing label
    if not present.any():
        return
    replayer.window.add_labeled(
        predictions[present],
        labels[present],
        {name: values[present] for name, values in chunk.items()},
        now=now,
    )
    classification = replayer.baseline.task == "classification"
    replayer.feed_errors(
        first_row,
        error_stream(predictions[present], labels[present], classification=classification),
        now,
    )
