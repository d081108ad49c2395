"""WindowKeeper: rotation by size, one shared plan, and windows that never share their data."""

from __future__ import annotations

import numpy as np

from kubedrift.sidecar.windows import WindowKeeper
from kubedrift.stats.baseline import build_baseline
from kubedrift.stats.settings import WindowSettings
from kubedrift.stats.window import Window

RNG = np.random.default_rng(5)
BASELINE = build_baseline(
    {"a": RNG.normal(size=400), "b": RNG.normal(size=400), "p": RNG.normal(size=400)},
    prediction="p",
)
SETTINGS = WindowSettings(samples=30, reservoir_size=12, max_age_seconds=1e9)


def batches(count: int, size: int, seed: int) -> list[tuple[dict[str, np.ndarray], np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        ({"a": rng.normal(size=size), "b": rng.normal(size=size)}, rng.normal(size=size))
        for _ in range(count)
    ]


def test_each_rotated_window_holds_what_a_window_of_its_own_would_hold() -> None:
    """Windows of 30 samples fed 8-row batches: each holds 32 rows, the 4th batch to arrive
    after it opened rotates it out; the n-th window is seeded ``seed + n``."""
    keeper = WindowKeeper(BASELINE, SETTINGS, now=0.0, seed=7)
    feed = batches(12, 8, seed=1)
    completed = []
    for i, (rows, predictions) in enumerate(feed):
        if keeper.rotate(float(i)):
            assert keeper.completed is not None
            completed.append(keeper.completed.to_dict())
        keeper.update(rows, predictions, float(i))
    assert keeper.rotations == 2
    for n, data in enumerate(completed):
        alone = Window(BASELINE, SETTINGS, seed=7 + n, start=4.0 * n)
        for i in range(4 * n, 4 * n + 4):
            alone.update(*feed[i], now=float(i))
        assert data == alone.to_dict()


def test_all_windows_of_a_keeper_share_one_plan() -> None:
    keeper = WindowKeeper(BASELINE, SETTINGS, now=0.0, seed=1)
    first = keeper.current
    for rows, predictions in batches(5, 8, seed=2):
        keeper.update(rows, predictions, 0.0)
    assert keeper.completed is first
    assert keeper.current is not first
    assert keeper.current.plan is first.plan


def test_the_completed_window_is_unchanged_by_traffic_into_the_next() -> None:
    keeper = WindowKeeper(BASELINE, SETTINGS, now=0.0, seed=3)
    for rows, predictions in batches(4, 8, seed=4):
        keeper.update(rows, predictions, 0.0)
    keeper.rotate(0.0)
    assert keeper.completed is not None
    before = keeper.completed.to_dict()
    for rows, predictions in batches(3, 8, seed=5):
        keeper.update(rows, predictions, 0.0)
    assert keeper.rotations == 1
    assert keeper.completed.to_dict() == before
