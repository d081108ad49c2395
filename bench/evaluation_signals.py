"""Bench: the operator's evaluation round with every signal on, against per-feature drift only.

What the operator does once per ``evaluation.interval`` for a monitor, timed from the sidecars'
``GET /v1/window`` JSON to the status to patch: decode the reports, merge them (windows, per-Pod
tallies, each segment's), evaluate the judged window, step the engine (and each segment's),
estimate performance without labels, and build the status (``merge_reports``,
``observation_from``, ``evaluated_status``). Two monitors of 100 numeric features, 10,000
training rows, two sidecars each adding 150 rows per 30 s round (labels joined for every row):

- **drift only**: the 100 features, no prediction, no labels, no multivariate fit;
- **all signals**: the same features plus a prediction (prediction drift), labels (error rate
  and the windowed accuracy), calibrated class probabilities (performance estimated without
  labels, ``performance.estimated`` on), the multivariate reconstruction error, a 768-wide
  embedding block (``bench.synthetic_embedding``) and 5 segments of a categorical feature.

Each round's time is the median of :data:`ROUNDS` rounds after :data:`WARMUP` (the windows are
full and rotating by then); the two monitors run interleaved, round by round, so a load change
on the machine hits both. Issue 19's bar: all signals within 2x of drift only.
``python -m bench.evaluation_signals [--quick]``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from bench.synthetic_embedding import Source

from kubedrift.api.spec import ModelMonitorSpec, parse_spec
from kubedrift.controller.evaluated_status import evaluated_status
from kubedrift.controller.observation import merge_reports, observation_from
from kubedrift.sidecar.windows import PodIdentity, WindowKeeper
from kubedrift.stats.baseline import Baseline, build_baseline
from kubedrift.stats.engine import Contract
from kubedrift.stats.engine.segmented import SegmentSessions
from kubedrift.stats.engine.session import Session
from kubedrift.stats.segments import SegmentSelection, segment_baseline
from kubedrift.stats.settings import EvaluationSettings, PerformanceSettings

QUICK = "--quick" in sys.argv
FEATURES = 100
TRAINING = 10_000
ROWS = 150  # per sidecar and round: 10 requests/s over 30 s, two replicas
PODS = 2
WARMUP = 20 if QUICK else 30
ROUNDS = 15 if QUICK else 40
SHOPS = np.array(["a", "b", "c", "d", "e"])
EMBEDDING = Source(768)
CONTRACT = Contract(30 * 86400.0, 30.0)


def traffic(rng: np.random.Generator, n: int, full: bool) -> dict[str, np.ndarray]:
    columns = {f"x{i}": rng.normal(size=n) for i in range(FEATURES)}
    if full:
        columns["shop"] = rng.choice(SHOPS, n)
        columns["text"] = EMBEDDING.draw(rng, n)
    return columns


def scores(columns: dict[str, np.ndarray]) -> np.ndarray:
    """The classifier's calibrated probability of class 1."""
    probability: np.ndarray = 1 / (1 + np.exp(-(columns["x0"] + columns["x1"])))
    return probability


@dataclass
class Monitor:
    name: str
    full: bool
    baseline: Baseline
    settings: EvaluationSettings
    spec: ModelMonitorSpec
    session: Session
    segments: SegmentSessions | None
    keepers: list[WindowKeeper]

    @classmethod
    def build(cls, full: bool) -> Monitor:
        rng = np.random.default_rng(0)
        columns: dict[str, Any] = traffic(rng, TRAINING, full)
        body: dict[str, Any] = {
            "target": {"deployment": "m", "port": 8080},
            "baseline": {"configMapRef": {"name": "b"}},
        }
        if full:
            p = scores(columns)
            columns["p"] = p
            columns["pred"] = (p >= 0.5).astype(int)
            columns["y"] = (rng.uniform(size=p.size) < p).astype(int)
            features = [*(f"x{i}" for i in range(FEATURES)), "shop", "text"]
            baseline = build_baseline(
                columns, features=features, prediction="pred", label="y", probabilities=["p"]
            )
            baseline = segment_baseline(baseline, columns, "shop", top=5)
            settings = EvaluationSettings(
                performance=PerformanceSettings("accuracy", 0.6, estimated=True)
            )
            body |= {
                "segments": {"feature": "shop", "top": 5},
                "performance": {"metric": "accuracy", "threshold": 0.6, "estimated": True},
            }
        else:
            baseline = build_baseline(columns, multivariate=False)
            settings = EvaluationSettings()
        spec = parse_spec(body)
        segments = (
            SegmentSessions(baseline, settings, CONTRACT, SegmentSelection("shop", top=5))
            if full
            else None
        )
        keepers = [
            WindowKeeper(baseline, settings.window, now=0.0, seed=pod) for pod in range(PODS)
        ]
        return cls(
            "all signals" if full else "drift only",
            full,
            baseline,
            settings,
            spec,
            Session(baseline, settings, CONTRACT),
            segments,
            keepers,
        )

    def feed(self, rng: np.random.Generator, now: float) -> list[str]:
        """Each sidecar's rows of the round, then its ``GET /v1/window`` JSON."""
        for keeper in self.keepers:
            rows = traffic(rng, ROWS, self.full)
            if not self.full:
                keeper.update(rows, None, now)
                continue
            p = scores(rows)
            predictions = (p >= 0.5).astype(int).astype(str).astype(object)
            labels = (rng.uniform(size=p.size) < p).astype(int).astype(str).astype(object)
            keeper.update(rows, predictions, now, probabilities=p[:, None])
            scalar = {name: values for name, values in rows.items() if values.ndim == 1}
            keeper.add_labeled(predictions, labels, scalar, now)
        return [
            json.dumps(
                keeper.to_dict(PodIdentity(f"pod-{i}", "ns", None, 0.0), now, labeled_rows=False)
            )
            for i, keeper in enumerate(self.keepers)
        ]

    def evaluate(self, texts: list[str], now: float) -> dict[str, Any]:
        """The operator's round: decode, merge, evaluate and step, the status."""
        reports = [json.loads(text) for text in texts]
        merged = merge_reports(reports, self.baseline, self.settings)
        observation = observation_from(
            merged, PODS, self.baseline, self.settings, self.session, now, self.segments
        )
        moment = datetime.fromtimestamp(now, UTC)
        return dict(evaluated_status({}, observation, self.spec, generation=1, now=moment))


def main() -> int:
    started = time.perf_counter()
    monitors = [Monitor.build(full=False), Monitor.build(full=True)]
    print(
        f"evaluation round, {FEATURES} numeric features, {PODS} sidecars x {ROWS} rows per 30 s "
        f"(baselines built in {time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    rng = np.random.default_rng(1)
    times: dict[str, list[float]] = {m.name: [] for m in monitors}
    status: dict[str, dict[str, Any]] = {}
    for round_ in range(WARMUP + ROUNDS):
        now = 30.0 * (round_ + 1)
        for monitor in monitors:
            texts = monitor.feed(rng, now)
            begun = time.perf_counter()
            status[monitor.name] = monitor.evaluate(texts, now)
            if round_ >= WARMUP:
                times[monitor.name].append(time.perf_counter() - begun)
    full = status["all signals"]
    assert "estimatedPerformance" in full and len(full["segments"]) == 5, "a signal is off"
    assert full["drift"].get("multivariate") and full["drift"].get("embeddings"), "a signal is off"
    assert "performance" in full and "prediction" in full["drift"], "a signal is off"
    medians = {name: float(np.median(values)) for name, values in times.items()}
    for name, value in medians.items():
        print(f"  {name:<12} {value * 1e3:7.1f} ms per round (median of {ROUNDS})", flush=True)
    ratio = medians["all signals"] / medians["drift only"]
    print(f"  ratio all signals / drift only: {ratio:.2f} (issue 19: within 2x)", flush=True)
    return 0 if ratio <= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
