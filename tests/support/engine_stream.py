"""A seeded stream stepped through the decision engine as the operator steps it (the shared loop
of the multivariate and embedding tests): every 30 s a batch of rows goes into the increment the
engine takes and into the window users read, which rotates when full."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from kubedrift.stats.baseline import Baseline
from kubedrift.stats.engine import Contract, Decision, Engine, Tally
from kubedrift.stats.settings import EvaluationSettings
from kubedrift.stats.window import Window

DAY = 86400.0
#: A step's rows, from the stream's generator and the step's index.
Rows = Callable[[np.random.Generator, int], Mapping[str, npt.NDArray[Any]]]


def step_stream(
    baseline: Baseline, settings: EvaluationSettings, rows: Rows, steps: int, seed: int = 1
) -> list[Decision]:
    """The engine's decision after each of ``steps`` batches (default contract: one false
    alarm per 30 days, a 30 s interval)."""
    rng = np.random.default_rng(seed)
    engine = Engine(baseline, settings, Contract(30 * DAY, 30.0))
    window = Window(baseline, settings.window, start=0.0)
    decisions = []
    for step in range(steps):
        now = 30.0 * step
        batch = rows(rng, step)
        if window.is_full(now):
            window = Window(baseline, settings.window, start=now)
        increment = Window(baseline, settings.window, start=now)
        increment.update(batch, now=now)
        window.update(batch, now=now)
        decisions.append(engine.step(Tally.of_window(increment), window, now=now))
    return decisions
