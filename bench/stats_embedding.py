"""Bench: embedding blocks (``stats.embedding``) on 768- and 2048-wide inputs.

The synthetic embedding (``bench.synthetic_embedding``) that the multivariate bench measures as
plain columns: 32 latent factors with standard deviations 3 to 0.5 through a random basis, plus
isotropic noise of 0.3; 5,000 training rows, profiled as one block (``K = 8`` components, the
norm, the reconstruction error). Then 50 rows every 30 s under the default contract:

1. size and cost: the baseline's JSON (and whether it fits a ConfigMap), the build time, the
   sidecar's ingestion of 300 rows, one engine step and the window evaluation (best of 7);
2. detection: rows from the change to the alarm (within 6,000 rows), over 5 seeds, for a mean
   shift along the first principal component by half its spread, along the first latent factor
   by a third of its spread (what the plain columns missed), and by 1, 3 and 5 along a
   direction no factor spans (a low-variance direction: there only the noise's 0.3 per
   coordinate);
3. no change: engine steps without an alarm over 2 seeds x 2,000 steps (33 simulated hours).

``python -m bench.stats_embedding [--quick]`` (``--quick``: the 768-wide input, fewer runs).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np
from bench.synthetic_embedding import Source

from kubedrift.stats.baseline import Baseline, build_baseline
from kubedrift.stats.baseline_size import MAX_BASELINE_BYTES, encode
from kubedrift.stats.engine import Contract, Engine, Tally
from kubedrift.stats.evaluation import evaluate
from kubedrift.stats.settings import EvaluationSettings, WindowSettings
from kubedrift.stats.window import Window

QUICK = "--quick" in sys.argv
DAY = 86400.0
ROWS = 50


def best(action: Callable[[], object], repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times) * 1e3


def size_and_cost(source: Source) -> Baseline:
    rng = np.random.default_rng(1)
    started = time.perf_counter()
    baseline = build_baseline({"text": source.draw(rng, 5000)})
    built = time.perf_counter() - started
    text = baseline.to_json()
    stored = encode(text)
    (block,) = baseline.embeddings
    settings = EvaluationSettings(window=WindowSettings(samples=10_000))
    live = source.draw(rng, 3000)
    window = Window(baseline, settings.window, start=0.0, seed=1)
    for k in range(0, 3000, 300):
        window.update({"text": live[k : k + 300]})
    engine = Engine(baseline, settings, Contract(30 * DAY, 30.0))
    increment = Tally.of_window(window)
    clock = iter(range(0, 10**9, 30))

    def ingest() -> None:
        Window(baseline, settings.window, start=0.0, seed=1).update({"text": live[:300]})

    print(
        f"  width {block.width}: JSON {len(text) / 1024:.0f} KiB "
        f"({'stored as is' if stored == text else 'compressed'}; limit "
        f"{MAX_BASELINE_BYTES / 1024:.0f} KiB), built in {built:.1f} s, "
        f"K {len(block.columns) - 2}, "
        f"explained {block.explained:.2f}; ingest 300 rows {best(ingest):.1f} ms, engine step "
        f"{best(lambda: engine.step(increment, window, now=float(next(clock)))):.2f} ms, "
        f"evaluate {best(lambda: evaluate(baseline, window, settings)):.1f} ms, "
        f"alternatives {engine.alternatives}",
        flush=True,
    )
    return baseline


def run(
    baseline: Baseline,
    source: Source,
    seed: int,
    shift: np.ndarray | float,
    *,
    change_at: int | None,
    steps: int,
) -> tuple[int | None, list[str]]:
    """The first step with an embedding alarm (and the signals in alarm), or None."""
    settings = EvaluationSettings()
    rng = np.random.default_rng(100 + seed)
    engine = Engine(baseline, settings, Contract(30 * DAY, 30.0))
    window = Window(baseline, settings.window, start=0.0, seed=seed)
    for step in range(steps):
        now = 30.0 * step
        changed = change_at is not None and step >= change_at
        rows = {"text": source.draw(rng, ROWS, shift if changed else 0.0)}
        if window.is_full(now):
            window = Window(baseline, settings.window, start=now, seed=seed)
        increment = Window(baseline, settings.window, start=now)
        increment.update(rows, now=now)
        window.update(rows, now=now)
        decision = engine.step(Tally.of_window(increment), window, now=now)
        if decision.drift.status == "True":
            alarmed = [s.name.split("/")[-1] for s in decision.signals if s.alarmed]
            return step, alarmed
    return None, []


def detection(baseline: Baseline, source: Source) -> None:
    seeds = range(3) if QUICK else range(5)
    (block,) = baseline.embeddings
    scores = block.values(source.draw(np.random.default_rng(5), 4000), 4000)
    pc1_spread = float(scores[0].std())
    error_spread = float(scores[-1].std())
    factor = source.basis[0] / np.linalg.norm(source.basis[0])
    cases = {
        f"first component +{0.5 * pc1_spread:.2f} (half its spread)": block.components[0]
        * 0.5
        * pc1_spread,
        "first latent factor +1.0 (a third of its spread)": factor * 1.0,
        **{
            f"low-variance direction +{delta:g} (error spread {error_spread:.1f})": source.low
            * delta
            for delta in (1.0, 3.0, 5.0)
        },
    }
    for label, shift in cases.items():
        found = [run(baseline, source, seed, shift, change_at=20, steps=140) for seed in seeds]
        rows = [None if step is None else (step - 20 + 1) * ROWS for step, _ in found]
        signals = sorted({s for _, alarmed in found for s in alarmed})
        print(f"    {label}: rows to the alarm {rows}; signals {signals}", flush=True)


def no_change(baseline: Baseline, source: Source) -> None:
    steps = 500 if QUICK else 2000
    seeds = range(2)
    alarms = [
        run(baseline, source, 10 + seed, 0.0, change_at=None, steps=steps)[0] for seed in seeds
    ]
    print(
        f"    no change: {len(seeds)} runs x {steps} steps ({steps * 30 / 3600:.1f} h each): "
        f"alarms at {[a for a in alarms if a is not None]} (none expected; contract one per "
        "30 days)",
        flush=True,
    )


def main() -> int:
    print("embedding blocks: size, cost, detection, no change")
    for width in (768,) if QUICK else (768, 2048):
        source = Source(width)
        baseline = size_and_cost(source)
        detection(baseline, source)
        no_change(baseline, source)
    return 0


if __name__ == "__main__":
    sys.exit(main())
