"""Bench: evaluate a 10,000-row window of 100 numeric features against its baseline.

Contenders, timed in-process on the same data in the same run (median of repeats):

- kubedrift: ``Window.update`` of the 10,000 rows plus ``evaluate`` (auto tests, Bonferroni,
  effect floor); the baseline is built beforehand, as it is in production.
- floor: one bare numpy pass that bins every feature on the baseline's edges and computes PSI
  for all features (no tests, no corrections, no reservoir): the least any binned method can do.
- scipy loop: ``scipy.stats.ks_2samp`` per feature on the raw reference and current columns.
- Evidently: ``Report([DataDriftPreset()]).run(current, reference)`` (bench-only dependency).

Then the start-up of ``kubedrift check --help`` against a bare ``python -c pass``.
``python -m bench.stats_evaluation [--quick]``.
"""

from __future__ import annotations

import subprocess
import sys
import time
import warnings

import numpy as np
from bench.timing import median_seconds
from scipy import stats

from kubedrift.stats.baseline import build_baseline
from kubedrift.stats.evaluation import evaluate
from kubedrift.stats.settings import EvaluationSettings, WindowSettings
from kubedrift.stats.window import Window

ROWS = 10_000
FEATURES = 100


def data() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    names = [f"f{i:03d}" for i in range(FEATURES)]
    reference = {name: rng.normal(size=ROWS) for name in names}
    # Half the features shift by 0.3 sigma, so there is drift to find.
    current = {name: rng.normal(0.3 if i % 2 else 0.0, size=ROWS) for i, name in enumerate(names)}
    return reference, current


def main() -> int:
    quick = "--quick" in sys.argv
    reference, current = data()
    baseline = build_baseline(reference)
    settings = EvaluationSettings(window=WindowSettings(samples=ROWS))

    def kubedrift() -> object:
        window = Window(baseline, settings.window, seed=1, start=0.0)
        window.update(current)
        return evaluate(baseline, window, settings)

    edges = [np.asarray(p.edges) for p in baseline.features]
    expected = [
        (np.asarray(p.counts) + 0.5) / (sum(p.counts) + 0.5 * len(p.counts))
        for p in baseline.features
    ]
    matrix = np.stack([current[p.name] for p in baseline.features])

    def floor() -> object:
        width = max(len(e) for e in edges) + 1
        index = np.stack([np.searchsorted(e, row) for e, row in zip(edges, matrix, strict=True)])
        flat = index + (np.arange(len(edges)) * width)[:, None]
        counts = np.bincount(flat.ravel(), minlength=width * len(edges)).reshape(-1, width)
        psi = np.empty(len(edges))
        for j, p in enumerate(expected):
            q = (counts[j, : p.size] + 0.5) / (ROWS + 0.5 * p.size)
            psi[j] = np.sum((q - p) * np.log(q / p))
        return psi

    def scipy_loop() -> object:
        return [stats.ks_2samp(reference[name], current[name]) for name in reference]

    repeat = 3 if quick else 7
    result = kubedrift()
    assert result.share > 0  # type: ignore[attr-defined]
    timings = {
        "kubedrift (ingest + evaluate)": median_seconds(kubedrift, repeat),
        "floor (numpy binned PSI)": median_seconds(floor, repeat),
        "scipy ks_2samp loop": median_seconds(scipy_loop, 1 if quick else 3),
    }
    window = Window(baseline, settings.window, seed=1, start=0.0)
    window.update(current)
    evaluate_only = median_seconds(lambda: evaluate(baseline, window, settings), repeat)
    evidently = evidently_seconds(reference, current, 1 if quick else 2)
    if evidently is not None:
        timings["Evidently DataDriftPreset"] = evidently

    ours = timings["kubedrift (ingest + evaluate)"]
    print(f"window of {ROWS} rows x {FEATURES} numeric features; median wall time")
    for name, seconds in timings.items():
        print(f"  {name:<32} {seconds * 1e3:10.1f} ms   {seconds / ours:8.2f}x kubedrift")
    print(f"  {'kubedrift evaluate only':<32} {evaluate_only * 1e3:10.1f} ms")
    floor_ratio = ours / timings["floor (numpy binned PSI)"]
    print(f"kubedrift / floor: {floor_ratio:.2f}x (target <= 3)")
    print(f"scipy loop / kubedrift: {timings['scipy ks_2samp loop'] / ours:.1f}x")
    if evidently is not None:
        print(f"Evidently / kubedrift: {evidently / ours:.0f}x (target >= 100)")
    startup()
    return 0


def evidently_seconds(
    reference: dict[str, np.ndarray], current: dict[str, np.ndarray], repeat: int
) -> float | None:
    try:
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pandas as pd  # noqa: PLC0415
            from evidently import Report  # noqa: PLC0415
            from evidently.presets import DataDriftPreset  # noqa: PLC0415
        print(f"(evidently imported in {time.perf_counter() - started:.1f} s, not counted)")
    except Exception as error:  # any import failure means "skipped, and why"
        print(
            f"Evidently skipped: cannot import it ({type(error).__name__}: {error}); "
            "install the bench extra: pip install -e '.[bench]'"
        )
        return None
    reference_frame, current_frame = pd.DataFrame(reference), pd.DataFrame(current)

    def run() -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Report([DataDriftPreset()]).run(current_frame, reference_frame)

    return median_seconds(run, repeat, warmup=0)


def startup() -> None:
    def spawn(*command: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, *command], check=True, capture_output=True)
        return time.perf_counter() - started

    bare = min(spawn("-c", "pass") for _ in range(5))
    check = min(spawn("-m", "kubedrift", "check", "--help") for _ in range(5))
    heavy = min(spawn("-c", "import numpy, scipy.stats") for _ in range(3))
    print(
        f"start-up: kubedrift check --help {check * 1e3:.0f} ms, python -c pass "
        f"{bare * 1e3:.0f} ms, import numpy+scipy.stats {heavy * 1e3:.0f} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
