"""Bench: false alarms of the decision engine on traffic drawn from the training distribution.

The engine is what the operator steps every ``evaluation.interval``: this bench feeds it, per
interval, what the sidecars would report, simulated as counts (a Poisson number of rows at the
cell's rate, multinomial over the baseline's own bins under the *true* distribution, missing and
out-of-range values at their true rates, labels of a classifier at its true error rate), and the
window users read (rotated every ``window.samples`` rows, merged with the completed one below
``minSamples``), built from the same counts. Simulating counts instead of rows makes months of
traffic cheap while the engine runs exactly as in the operator (``Engine.step``).

Each cell draws its reference (1,000 to 100,000 rows) from the true distribution and builds the
baseline with ``build_baseline``, so the reference's sampling error is part of what is tested.
Cells vary one setting at a time around 10 requests/s, 10 numeric features, a 30 s interval and
20,000 reference rows; every cell runs the default contract (one false alarm per 30 days). A
second table runs a few cells under a contract of one per hour, where false alarms are frequent
enough to count: the observed rate must stay below the contract there too.

The multivariate signal (the PCA reconstruction error, ``stats.multivariate``; cells with two or
more numeric features) is one more column of counts: its true bin probabilities are those of the
error of rows drawn from the true joint distribution (independent standard normal features, or
``x0`` and ``x1`` with correlation ``rho``), estimated once per cell from :data:`MONTE_CARLO`
rows (Monte Carlo error about 0.0002 per bin, a fourteenth of the reference's own sampling
error at 10,000 held-out rows). Its counts are drawn independently of the features' counts,
which they are not in reality; each detector's false alarms depend only on its own column's
counts, and the budget adds expectations (a sum of supermartingales), valid whatever the
dependence between columns.

A false alarm is a transition of ``DriftDetected``, ``PerformanceDegraded`` or
``DataQualityDegraded`` to True; ``mv`` counts the multivariate signal's own alarms.
``python -m bench.engine_false_alarms [--quick]``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from statistics import NormalDist

import numpy as np

from kubedrift.stats.baseline import Baseline, build_baseline
from kubedrift.stats.engine import Contract, Engine, Tally
from kubedrift.stats.settings import EvaluationSettings, PerformanceSettings
from kubedrift.stats.window import Window, judged_window

QUICK = "--quick" in sys.argv
DAY = 86400.0
NORMAL = NormalDist()
CATEGORIES = np.array([f"c{i}" for i in range(8)])
CATEGORY_P = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.08, 0.05, 0.02])
ERROR_RATE = 0.15
#: Rows drawn to estimate the reconstruction error's true bin probabilities.
MONTE_CARLO = 2_000_000


@dataclass(frozen=True)
class Cell:
    name: str
    rate: float = 10.0
    features: int = 10
    categorical: bool = False
    interval: float = 30.0
    reference: int = 20_000
    labels: bool = False
    days: float = 30.0
    contract_days: float = 30.0
    #: Correlation of x0 and x1 (numeric cells), in the reference and the live traffic alike.
    rho: float = 0.0


class Truth:
    """The true distribution of every baseline column, as probabilities of the baseline's bins
    plus the out-of-range mass of numeric columns."""

    def __init__(self, baseline: Baseline, categorical: bool, rho: float = 0.0) -> None:
        self.profiles = [*baseline.features]
        fit = baseline.multivariate
        if fit is not None:
            self.profiles.append(fit.profile)
        if baseline.prediction is not None:
            self.profiles.append(baseline.prediction)
        self.widest = max(len(p.counts) for p in self.profiles)
        rows = []
        for p in self.profiles:
            if fit is not None and p is fit.profile:
                rows.append(("numeric", error_parts(baseline, rho)))
            elif p.type == "numeric":
                lo, hi = NORMAL.cdf(p.minimum or 0.0), NORMAL.cdf(p.maximum or 0.0)
                cdf = [0.0, lo, *(NORMAL.cdf(e) for e in p.edges), hi, 1.0]
                parts = np.diff(cdf)  # below min, min..e0, ..., e_last..max, above max
                rows.append(("numeric", parts))
            else:
                truth = (
                    dict(zip(CATEGORIES, CATEGORY_P, strict=True))
                    if categorical and p.name != "pred"
                    else {"0": 0.5, "1": 0.5}
                )
                known = [truth.get(v, 0.0) for v in p.vocabulary]
                rows.append(("categorical", np.array([*known, 1.0 - sum(known)])))
        self.rows = rows

    def draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        counts = np.zeros((len(self.rows), self.widest), dtype=np.int64)
        outside = np.zeros(len(self.rows), dtype=np.int64)
        for i, (kind, probabilities) in enumerate(self.rows):
            drawn = rng.multinomial(n, np.clip(probabilities, 0, None) / probabilities.sum())
            if kind == "numeric":
                bins = drawn[1:-1].copy()
                bins[0] += drawn[0]
                bins[-1] += drawn[-1]
                counts[i, : bins.size] = bins
                outside[i] = drawn[0] + drawn[-1]
            else:
                counts[i, : drawn.size] = drawn
        return counts, outside


def error_parts(baseline: Baseline, rho: float) -> np.ndarray:
    """True probabilities of the reconstruction error below the reference minimum, in each
    bin, and above the maximum (Monte Carlo over rows of the true joint distribution)."""
    fit = baseline.multivariate
    assert fit is not None
    rng = np.random.default_rng(7)
    below = 0
    inner = np.zeros(len(fit.profile.edges) + 1, dtype=np.int64)
    above = 0
    chunk = 200_000
    profile = fit.profile
    for _ in range(MONTE_CARLO // chunk):
        rows = numeric_rows(rng, len(baseline.features), chunk, rho)
        errors = fit.errors([rows[name] for name in fit.features], chunk)
        low = errors < (profile.minimum or 0.0)
        high = errors > (profile.maximum or 0.0)
        below += int(low.sum())
        above += int(high.sum())
        inside = errors[~low & ~high]
        inner += np.bincount(
            np.searchsorted(np.asarray(profile.edges), inside, side="left"),
            minlength=inner.size,
        )
    return np.array([below, *inner, above], dtype=np.float64) / MONTE_CARLO


def numeric_rows(
    rng: np.random.Generator, features: int, n: int, rho: float
) -> dict[str, np.ndarray]:
    """Standard normal features, x0 and x1 with correlation ``rho``."""
    columns = {f"x{i}": rng.normal(size=n) for i in range(features)}
    if features >= 2 and rho:
        columns["x1"] = rho * columns["x0"] + np.sqrt(1 - rho**2) * columns["x1"]
    return columns


def make_baseline(cell: Cell, rng: np.random.Generator) -> Baseline:
    columns: dict[str, np.ndarray] = (
        {f"x{i}": rng.choice(CATEGORIES, size=cell.reference, p=CATEGORY_P)
         for i in range(cell.features)}
        if cell.categorical
        else numeric_rows(rng, cell.features, cell.reference, cell.rho)
    )  # fmt: skip
    if not cell.labels:
        return build_baseline(columns)
    truth = rng.integers(0, 2, cell.reference)
    wrong = rng.random(cell.reference) < ERROR_RATE
    columns["pred"] = np.where(wrong, 1 - truth, truth).astype(str)
    columns["y"] = truth.astype(str)
    return build_baseline(columns, prediction="pred", label="y")


def simulate(cell: Cell, seed: int) -> tuple[int, int, float, float]:
    """False alarms (any condition; the multivariate signal's own), simulated days and seconds
    of engine time per step for one cell."""
    rng = np.random.default_rng(seed)
    baseline = make_baseline(cell, rng)
    settings = EvaluationSettings(
        performance=PerformanceSettings("accuracy", 0.8) if cell.labels else None
    )
    engine = Engine(baseline, settings, Contract(cell.contract_days * DAY, cell.interval))
    truth = Truth(baseline, cell.categorical, cell.rho)
    size = len(truth.profiles)
    zeros = np.zeros(size, dtype=np.int64)
    names = tuple(p.name for p in truth.profiles)
    current = Window(baseline, settings.window, start=0.0)
    completed: Window | None = None
    steps = int(cell.days * DAY / cell.interval)
    states: dict[str, str] = {}
    alarms = 0
    multivariate = 0
    was_multivariate = False
    spent = 0.0
    for step in range(steps):
        n = int(rng.poisson(cell.rate * cell.interval))
        counts, outside = truth.draw(rng, n)
        labeled = errors = 0
        confusion = None
        if cell.labels:
            labeled = n
            errors = int(rng.binomial(n, ERROR_RATE))
            confusion = confusion_matrix(n - errors, errors)
        increment = Tally(0.0, names, n, labeled, errors, 0, counts, zeros, outside)
        # The sidecar's windows: rotate when full, else add the interval's rows.
        if current.samples >= settings.window.samples:
            completed, current = current, Window(baseline, settings.window, start=0.0)
        current.add_counts(n, counts, zeros, outside, confusion=confusion)
        window = judged_window(current, completed, settings.window.min_samples)
        started = time.perf_counter()
        decision = engine.step(increment, window, now=step * cell.interval)
        spent += time.perf_counter() - started
        multivariate += int(decision.multivariate_drifted and not was_multivariate)
        was_multivariate = decision.multivariate_drifted
        for name, state in (
            ("drift", decision.drift),
            ("performance", decision.performance),
            ("quality", decision.quality),
        ):
            if state is None:
                continue
            if state.status == "True" and states.get(name) != "True":
                alarms += 1
            states[name] = state.status
    return alarms, multivariate, cell.days, spent / max(steps, 1)


def confusion_matrix(right: int, wrong: int) -> np.ndarray:
    """Labeled pairs of the two balanced classes (rows labels, columns predictions, + other)."""
    confusion = np.zeros((3, 3), dtype=np.int64)
    confusion[0, 0], confusion[1, 1] = right // 2, right - right // 2
    confusion[0, 1], confusion[1, 0] = wrong // 2, wrong - wrong // 2
    return confusion


CELLS = (
    Cell("default: 10 req/s, 10 numeric, 30 s, 20k ref"),
    Cell("1 req/s", rate=1.0),
    Cell("100 req/s", rate=100.0),
    Cell("2 features", features=2),
    Cell("200 features", features=200, days=4.0),
    Cell("10 categorical", categorical=True),
    Cell("200 categorical", categorical=True, features=200, days=4.0),
    Cell("interval 10 s", interval=10.0, days=10.0),
    Cell("interval 5 min", interval=300.0, days=365.0),
    Cell("reference 1,000 rows", reference=1_000),
    Cell("reference 100,000 rows", reference=100_000),
    Cell("classifier with labels (2 features)", features=2, labels=True),
    Cell("10 numeric, x0 and x1 correlated 0.8", rho=0.8),
    Cell("100 numeric", features=100, days=4.0),
)
STRESS = (
    Cell("2 features, contract 1 h", features=2, days=5.0, contract_days=1 / 24),
    Cell("ref 1,000, 100 req/s, contract 1 h", reference=1_000, rate=100.0, features=2,
         days=5.0, contract_days=1 / 24),
    Cell("10 categorical, contract 1 h", categorical=True, days=5.0, contract_days=1 / 24),
    Cell("classifier, contract 1 h", features=2, labels=True, days=5.0, contract_days=1 / 24),
    Cell("2 correlated 0.8, contract 1 h", features=2, rho=0.8, days=5.0, contract_days=1 / 24),
    Cell("10 numeric, contract 1 h", days=5.0, contract_days=1 / 24),
)  # fmt: skip


def main() -> int:
    scale = 0.1 if QUICK else 1.0
    failed = False
    for title, cells in (("default contract (30 days)", CELLS), ("contract of 1 hour", STRESS)):
        print(f"\n{title}")
        print(f"{'cell':<40} {'days':>7} {'alarms':>7} {'mv':>4} {'allowed':>8} {'ms/step':>8}")
        for index, listed in enumerate(cells):
            cell = replace(listed, days=listed.days * scale)
            alarms, multivariate, days, per_step = simulate(cell, seed=1000 + index)
            allowed = days / cell.contract_days
            ok = alarms <= max(allowed, 0.0) or alarms == 0
            failed = failed or not ok
            print(
                f"{cell.name:<40} {days:>7.1f} {alarms:>7d} {multivariate:>4d} {allowed:>8.1f} "
                f"{per_step * 1e3:>8.2f}{'' if ok else '  ABOVE THE CONTRACT'}",
                flush=True,
            )
    print(
        "\nalarms: transitions of any alarm condition to True; allowed: simulated days / the "
        "contract's mean time between false alarms"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
