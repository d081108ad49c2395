"""Bench: window sketch ingestion, rows per second, against keeping the raw rows.

The same batches of 100 numeric features (column name -> array, the sidecar's shape) go into:

- kubedrift, one window: ``Window.update`` (bins, out-of-range and missing counts, moments,
  reservoir), every row into the same window (its reservoir has long settled);
- kubedrift, rotating: the sidecar's configuration, a ``WindowKeeper`` with the default
  ``WindowSettings`` that opens a new window once the current one holds 2,000 samples (each new
  window starts with an empty reservoir and fills it);
- copy buffer: the rows copied into a preallocated numpy array (a memory-bandwidth floor that
  keeps no statistics and no bound on memory once it wraps);
- append buffer: ``np.concatenate`` of each batch onto the window's rows, the usual way to
  "keep the window" in numpy, bounded here at the window size (2,000 rows).

Batch sizes 64, 256 and 1,024 rows. The target (issue 3) is within 2x of the append buffer, in
both kubedrift cases. ``python -m bench.stats_ingestion [--quick]``.
"""

from __future__ import annotations

import sys
from functools import partial

import numpy as np
from bench.timing import median_seconds

from kubedrift.sidecar.windows import WindowKeeper
from kubedrift.stats.baseline import Baseline, build_baseline
from kubedrift.stats.settings import WindowSettings
from kubedrift.stats.window import Window

FEATURES = 100
WINDOW = 2000


def main() -> int:
    quick = "--quick" in sys.argv
    rng = np.random.default_rng(3)
    names = [f"f{i:03d}" for i in range(FEATURES)]
    baseline = build_baseline({name: rng.normal(size=20_000) for name in names})
    rows_total = 20_480 if quick else 102_400
    print(f"{FEATURES} numeric features, {rows_total} rows per run; rows/s (median of runs)")
    print(
        f"  {'batch':>6} {'one window':>12} {'rotating':>12} {'copy buffer':>12} "
        f"{'append buffer':>14} {'copy/one':>9} {'append/one':>11} {'append/rotating':>16}"
    )
    for size in (64, 256, 1024):
        batches = [
            {name: rng.normal(size=size) for name in names} for _ in range(rows_total // size)
        ]

        repeat = 3 if quick else 5
        runs = (
            partial(sketch, baseline, batches),
            partial(rotating, baseline, batches),
            partial(copy, batches, size),
            partial(append, batches),
        )
        one, rotated, copied, appended = (rows_total / median_seconds(run, repeat) for run in runs)
        print(
            f"  {size:>6} {one:>12,.0f} {rotated:>12,.0f} {copied:>12,.0f} {appended:>14,.0f} "
            f"{copied / one:>8.2f}x {appended / one:>10.2f}x {appended / rotated:>15.2f}x"
        )
    print(
        "target: kubedrift within 2x of the append buffer in both cases "
        "(append/one <= 2 and append/rotating <= 2)"
    )
    return 0


def sketch(baseline: Baseline, batches: list[dict[str, np.ndarray]]) -> None:
    window = Window(baseline, seed=1, start=0.0)
    for batch in batches:
        window.update(batch)


def rotating(baseline: Baseline, batches: list[dict[str, np.ndarray]]) -> None:
    keeper = WindowKeeper(baseline, WindowSettings(), now=0.0, seed=1)
    for batch in batches:
        keeper.update(batch, None, now=0.0)


def copy(batches: list[dict[str, np.ndarray]], size: int) -> None:
    buffer = np.empty((WINDOW, FEATURES))
    position = 0
    for batch in batches:
        if position + size > WINDOW:
            position = 0
        for j, values in enumerate(batch.values()):
            buffer[position : position + size, j] = values
        position += size


def append(batches: list[dict[str, np.ndarray]]) -> None:
    buffer = np.empty((0, FEATURES))
    for batch in batches:
        block = np.column_stack(list(batch.values()))
        buffer = np.concatenate([buffer, block])[-WINDOW:]


if __name__ == "__main__":
    sys.exit(main())
