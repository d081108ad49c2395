"""Bench: false alarms of an embedding block (``stats.embedding``) over long simulated time.

The monitor of the block's unit test and docs: one numeric feature (``age``, standard normal)
and a 768-wide block of the synthetic embedding (``bench.synthetic_embedding``; 5,000 training
rows, ``K = 8``: 10 derived columns), at default settings and the default contract (one false
alarm per 30 days), 10 requests/s and a 30 s interval. As in the engine's false-alarm bench, each
interval feeds the engine what the sidecars would report, simulated as counts: a Poisson number
of rows, multinomial over each column's own bins (out-of-range mass included) under its *true*
distribution, and the window users read, rotating every 2,000 rows. The derived columns' true
bin probabilities are estimated once from :data:`MONTE_CARLO` fresh rows of the embedding
(Monte Carlo error about 0.0003 per bin); the simulation checks first that its binning gives
exactly a real window's counts on 2,000 real rows. Each column's counts are drawn independently
of the others', which they are not in reality; each detector's false alarms depend only on its
own column's counts and the budget adds expectations, valid whatever the dependence.

It also prints the monitor's alternatives and log e-value threshold with and without the block
(``docs/statistics.md``, "Embeddings and wide tensors"). A false alarm is a transition of any
alarm condition to True. ``python -m bench.embedding_false_alarms [--quick]`` (``--quick``: a
tenth of the simulated time).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from statistics import NormalDist

import numpy as np
from bench.synthetic_embedding import Source

from kubedrift.stats.baseline import Baseline, build_baseline
from kubedrift.stats.column_profile import FeatureProfile
from kubedrift.stats.engine import Contract, Engine, Tally
from kubedrift.stats.settings import EvaluationSettings, WindowSettings
from kubedrift.stats.window import Window, judged_window

QUICK = "--quick" in sys.argv
DAY = 86400.0
NORMAL = NormalDist()
WIDTH = 768
MONTE_CARLO = 1_000_000


@dataclass(frozen=True)
class Cell:
    name: str
    days: float
    contract_days: float = 30.0
    rate: float = 10.0
    interval: float = 30.0


def parts(profile: FeatureProfile, values: np.ndarray) -> np.ndarray:
    """Counts of ``values`` below the profile's minimum, in each bin, above its maximum."""
    low = values < (profile.minimum or 0.0)
    high = values > (profile.maximum or 0.0)
    inside = values[~low & ~high]
    inner = np.bincount(
        np.searchsorted(np.asarray(profile.edges), inside, side="left"),
        minlength=len(profile.edges) + 1,
    )
    return np.array([int(low.sum()), *inner, int(high.sum())], dtype=np.float64)


class Truth:
    """True bin probabilities (out-of-range mass at both ends) of every window column."""

    def __init__(self, baseline: Baseline, source: Source) -> None:
        self.profiles = [*baseline.features, *baseline.derived]
        (block,) = baseline.embeddings
        self.widest = max(len(p.counts) for p in self.profiles)
        rng = np.random.default_rng(7)
        derived = np.zeros((len(block.profiles), self.widest + 2))
        chunk = 50_000
        for _ in range(MONTE_CARLO // chunk):
            values = block.values(source.draw(rng, chunk), chunk)
            for i, profile in enumerate(block.profiles):
                found = parts(profile, values[i])
                derived[i, : found.size] += found
        self.rows: list[np.ndarray] = []
        for p in baseline.features:
            lo, hi = NORMAL.cdf(p.minimum or 0.0), NORMAL.cdf(p.maximum or 0.0)
            cdf = [0.0, lo, *(NORMAL.cdf(e) for e in p.edges), hi, 1.0]
            self.rows.append(np.diff(cdf))
        for i, p in enumerate(block.profiles):
            self.rows.append(derived[i, : len(p.edges) + 3] / MONTE_CARLO)

    def counts(self, drawn: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Window counts (out-of-range values in the end bins) and out-of-range counts."""
        counts = np.zeros((len(self.rows), self.widest), dtype=np.int64)
        outside = np.zeros(len(self.rows), dtype=np.int64)
        for i, values in enumerate(drawn):
            bins = values[1:-1].astype(np.int64)
            bins[0] += int(values[0])
            bins[-1] += int(values[-1])
            counts[i, : bins.size] = bins
            outside[i] = int(values[0] + values[-1])
        return counts, outside

    def draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.counts(
            [rng.multinomial(n, np.clip(p, 0, None) / p.sum()).astype(float) for p in self.rows]
        )


def make_baseline(source: Source) -> Baseline:
    rng = np.random.default_rng(1)
    return build_baseline({"age": rng.normal(size=5_000), "text": source.draw(rng, 5_000)})


def check_binning(baseline: Baseline, truth: Truth, source: Source) -> None:
    """The simulation's binning of real rows equals a real window's counts."""
    rng = np.random.default_rng(3)
    age, text = rng.normal(size=2_000), source.draw(rng, 2_000)
    window = Window(baseline, WindowSettings(samples=10_000), start=0.0)
    window.update({"age": age, "text": text})
    (block,) = baseline.embeddings
    columns = [age, *block.values(text, 2_000)]
    counts, outside = truth.counts(
        [parts(p, v) for p, v in zip(truth.profiles, columns, strict=True)]
    )
    size = len(truth.profiles)
    assert np.array_equal(window.counts[:size, : counts.shape[1]], counts), "binning differs"
    assert np.array_equal(window.out_of_range[:size], outside), "out-of-range counts differ"


def budget(baseline: Baseline) -> None:
    """Alternatives and threshold of the monitor with and without the block's signals."""
    contract = Contract(30 * DAY, 30.0)
    with_block = Engine(baseline, EvaluationSettings(), contract)
    settings = EvaluationSettings()
    off = replace(settings, drift=replace(settings.drift, embeddings=False))
    without = Engine(baseline, off, contract)
    print(
        f"budget: alternatives {without.alternatives} -> {with_block.alternatives} with the "
        f"block; log e-value threshold {without.threshold:.2f} -> {with_block.threshold:.2f}",
        flush=True,
    )


def simulate(baseline: Baseline, truth: Truth, cell: Cell, seed: int) -> tuple[int, float]:
    """False alarms and engine seconds per step."""
    rng = np.random.default_rng(seed)
    settings = EvaluationSettings()
    engine = Engine(baseline, settings, Contract(cell.contract_days * DAY, cell.interval))
    size = len(truth.profiles)
    names = tuple(p.name for p in truth.profiles)
    zeros = np.zeros(size, dtype=np.int64)
    current = Window(baseline, settings.window, start=0.0)
    completed: Window | None = None
    states: dict[str, str] = {}
    alarms = 0
    spent = 0.0
    steps = int(cell.days * DAY / cell.interval)
    for step in range(steps):
        n = int(rng.poisson(cell.rate * cell.interval))
        counts, outside = truth.draw(rng, n)
        increment = Tally(0.0, names, n, 0, 0, 0, counts, zeros, outside)
        if current.samples >= settings.window.samples:
            completed, current = current, Window(baseline, settings.window, start=0.0)
        current.add_counts(n, counts, zeros, outside)
        window = judged_window(current, completed, settings.window.min_samples)
        started = time.perf_counter()
        decision = engine.step(increment, window, now=step * cell.interval)
        spent += time.perf_counter() - started
        for name, state in (("drift", decision.drift), ("quality", decision.quality)):
            if state.status == "True" and states.get(name) != "True":
                alarms += 1
                signals = [s.name for s in decision.signals if s.alarmed]
                print(f"    day {step * cell.interval / DAY:.1f}: {name} {signals}", flush=True)
            states[name] = state.status
    return alarms, spent / max(steps, 1)


CELLS = (
    Cell("default contract (30 days)", days=180.0),
    Cell("contract of 1 hour", days=5.0, contract_days=1 / 24),
)


def main() -> int:
    scale = 0.1 if QUICK else 1.0
    source = Source(WIDTH)
    baseline = make_baseline(source)
    started = time.perf_counter()
    truth = Truth(baseline, source)
    check_binning(baseline, truth, source)
    print(
        f"768-wide block and one feature; true bin probabilities from {MONTE_CARLO:,} rows in "
        f"{time.perf_counter() - started:.0f} s; binning checked against a real window",
        flush=True,
    )
    budget(baseline)
    failed = False
    print(f"{'cell':<30} {'days':>7} {'alarms':>7} {'allowed':>8} {'ms/step':>8}")
    for index, cell in enumerate(CELLS):
        days = cell.days * scale
        alarms, per_step = simulate(
            baseline, truth, Cell(cell.name, days, cell.contract_days), seed=2000 + index
        )
        allowed = days / cell.contract_days
        ok = alarms == 0 or alarms <= allowed
        failed = failed or not ok
        print(
            f"{cell.name:<30} {days:>7.1f} {alarms:>7d} {allowed:>8.1f} {per_step * 1e3:>8.2f}"
            f"{'' if ok else '  ABOVE THE CONTRACT'}",
            flush=True,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
