"""Bench (evidence, not speed): why p-value tests need an effect-size floor on large windows.

A Gaussian feature with a 100,000-row reference; windows of 1,000 to 1,000,000 rows whose mean
moved by 0 to 0.5 sigma. For each: the test ``auto`` picks, its p-value, the effect size (KS
statistic or total variation distance on the reference bins) and whether the feature drifts
without the floor and with the default floor. ``python -m bench.stats_effect_floor``.
"""

from __future__ import annotations

import sys

import numpy as np

from kubedrift.stats.baseline import build_baseline
from kubedrift.stats.evaluation import DEFAULT_MIN_EFFECT, evaluate
from kubedrift.stats.settings import DriftSettings, EvaluationSettings
from kubedrift.stats.window import Window


def main() -> int:
    rng = np.random.default_rng(7)
    baseline = build_baseline({"x": rng.normal(size=100_000)})
    floor_off = EvaluationSettings(drift=DriftSettings(min_effect=0.0))
    default = EvaluationSettings()
    sizes = (
        (1_000, 10_000, 100_000) if "--quick" in sys.argv else (1_000, 10_000, 100_000, 1_000_000)
    )
    print(
        f"{'rows':>9} {'shift':>6} {'test':>5} {'p-value':>9} {'effect':>7} "
        f"{'no floor':>9} {f'floor {DEFAULT_MIN_EFFECT}':>11}"
    )
    for rows in sizes:
        for shift in (0.0, 0.02, 0.05, 0.1, 0.25, 0.5):
            window = Window(baseline, seed=1, start=0.0)
            window.update({"x": rng.normal(shift, size=rows)})
            raw = evaluate(baseline, window, floor_off).features[0]
            judged = evaluate(baseline, window, default).features[0]
            print(
                f"{rows:>9} {shift:>6.2f} {raw.method:>5} {raw.p_value or 0.0:>9.2g} "
                f"{raw.effect or 0.0:>7.3f} {'drift' if raw.drifted else '-':>9} "
                f"{'drift' if judged.drifted else '-':>11}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
