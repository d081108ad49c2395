"""Bench: the multivariate signal's cost, its detection delay, and wide inputs (embeddings).

1. Cost at 100 numeric features: the sidecar's ingestion of 10,000 rows in 500-row batches, one
   engine step and the window evaluation, with and without the signal (best of 7).
2. Detection: x and y with correlation 0.8 (plus independent features), 50 rows every 30 s; the
   correlation moves at step 20; steps to the multivariate alarm over 5 seeds.
3. Wide inputs: a 768- and a 2048-wide synthetic embedding (32 latent factors, standard
   deviations 3 to 0.5, through a random basis, plus noise 0.3; 5,000 training rows) profiled as
   plain numeric columns: baseline size and whether it fits a ConfigMap, costs, and whether a
   shift of the first latent factor by a third of its spread is found within 20 steps of 300 rows.

``python -m bench.stats_multivariate [--quick]`` (``--quick`` skips the 2048-wide input).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np
from bench.synthetic_embedding import Source

from kubedrift.stats.baseline import Baseline, BaselineError, build_baseline
from kubedrift.stats.baseline_size import encode
from kubedrift.stats.engine import Contract, Engine, Tally
from kubedrift.stats.evaluation import evaluate
from kubedrift.stats.settings import EvaluationSettings, WindowSettings
from kubedrift.stats.window import Window

QUICK = "--quick" in sys.argv
DAY = 86400.0


def best(action: Callable[[], object], repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times) * 1e3


def cost() -> None:
    rng = np.random.default_rng(0)
    train = {f"x{i}": rng.normal(size=20_000) for i in range(100)}
    live = {f"x{i}": rng.normal(size=10_000) for i in range(100)}
    print("cost at 100 numeric features (ms, best of 7)")
    for enabled in (False, True):
        cost_of(build_baseline(train, multivariate=enabled), live)


def cost_of(baseline: Baseline, live: dict[str, np.ndarray]) -> None:
    settings = EvaluationSettings(window=WindowSettings(samples=10_000))

    def ingest() -> Window:
        window = Window(baseline, settings.window, start=0.0, seed=1)
        for k in range(0, 10_000, 500):
            window.update({name: values[k : k + 500] for name, values in live.items()})
        return window

    window = ingest()
    engine = Engine(baseline, settings, Contract(30 * DAY, 30.0))
    increment = Tally.of_window(window)
    clock = iter(range(0, 10**9, 30))
    step = best(lambda: engine.step(increment, window, now=float(next(clock))))
    fit = baseline.multivariate
    print(
        f"  multivariate {'on ' if fit else 'off'}: baseline "
        f"{len(baseline.to_json()) / 1024:.0f} KiB, ingest {best(ingest):.1f}, engine step "
        f"{step:.2f}, evaluate {best(lambda: evaluate(baseline, window, settings)):.1f}, "
        f"alternatives {engine.alternatives}, k {fit.kept if fit else '-'}",
        flush=True,
    )


def pair(rng: np.random.Generator, rho: float, n: int, noise: int) -> dict[str, np.ndarray]:
    x = rng.normal(size=n)
    rows = {"x": x, "y": rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)}
    rows.update({f"z{i}": rng.normal(size=n) for i in range(noise)})
    return rows


def detection() -> None:
    print("steps of 50 rows from the change to the multivariate alarm (5 seeds)")
    for noise in (0, 8):
        baseline = build_baseline(pair(np.random.default_rng(0), 0.8, 20_000, noise))
        for after in (-0.8, 0.0, 0.4, 0.6):
            delays: list[int | None] = []
            for seed in range(5):
                rng = np.random.default_rng(100 + seed)
                engine = Engine(baseline, EvaluationSettings(), Contract(30 * DAY, 30.0))
                window = Window(baseline, start=0.0)
                found = None
                for step in range(400):
                    rows = pair(rng, after if step >= 20 else 0.8, 50, noise)
                    if window.is_full(30.0 * step):
                        window = Window(baseline, start=30.0 * step)
                    increment = Window(baseline, start=0.0)
                    increment.update(rows)
                    window.update(rows)
                    decision = engine.step(Tally.of_window(increment), window, now=30.0 * step)
                    if decision.multivariate_drifted:
                        found = step - 20
                        break
                delays.append(found)
            print(f"  {2 + noise} features, rho 0.8 -> {after}: {delays}", flush=True)


def wide() -> None:
    print("wide inputs as plain numeric columns")
    for width in (768,) if QUICK else (768, 2048):
        source = Source(width)
        rng = np.random.default_rng(1)
        train = source.draw(rng, 5000)
        started = time.perf_counter()
        baseline = build_baseline({f"e{i}": train[:, i] for i in range(width)})
        built = time.perf_counter() - started
        text = baseline.to_json()
        try:
            stored = f"stored as {len(encode(text)) / 1024:.0f} KiB"
        except BaselineError as error:
            stored = f"refused ({type(error).__name__})"
        fit = baseline.multivariate
        engine = Engine(baseline, EvaluationSettings(), Contract(30 * DAY, 30.0))
        window = Window(baseline, start=0.0)
        found = None
        ingest, steps = [], []
        for step in range(40):
            values = source.draw(rng, 300, source.factor(0) if step >= 20 else 0.0)
            rows = {f"e{i}": values[:, i] for i in range(width)}
            increment = Window(baseline, start=0.0)
            started = time.perf_counter()
            increment.update(rows)
            ingest.append(time.perf_counter() - started)
            window.update(rows)
            started = time.perf_counter()
            decision = engine.step(Tally.of_window(increment), window, now=30.0 * step)
            steps.append(time.perf_counter() - started)
            if step >= 20 and found is None and decision.drift.status == "True":
                found = step - 20
        print(
            f"  width {width}: built in {built:.1f} s, JSON {len(text) / 1024:.0f} KiB, {stored}; "
            f"k {fit.kept if fit else '-'}, residual directions "
            f"{fit.residual.shape[0] if fit else '-'}; ingest 300 rows "
            f"{np.median(ingest) * 1e3:.0f} ms, engine step {np.median(steps) * 1e3:.0f} ms, "
            f"alternatives {engine.alternatives}; shift found after {found} steps",
            flush=True,
        )


def main() -> int:
    cost()
    detection()
    wide()
    return 0


if __name__ == "__main__":
    sys.exit(main())
