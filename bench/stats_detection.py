"""Bench: streaming change detection at equal false alarms, against river and an oracle CUSUM.

Every detector gets one sensitivity parameter calibrated (``kubedrift.stats.calibration``) on
separate no-change streams to at most one false alarm per ``TARGET`` samples; then each runs on
seeded streams whose distribution changes at sample ``CHANGE`` and the mean detection delay
(samples from the change to the first alarm at or after it; a miss counts as the whole horizon)
is compared with the oracle, a single CUSUM that knows both the pre- and post-change
distributions (Lorden's optimal detector for a known change).

Streams: (a) a Gaussian feature whose mean moves by 0.5, 1 and 0.75 sigma; (b) a 0/1 error
stream whose rate goes from 0.15 to 0.30; (c) the errors of a fixed classifier (a Hoeffding tree
trained on river's SEA concept 0) when the SEA stream moves from concept 0 to concept 3 (noise
0.1).

kubedrift's detector is its CUSUM bank (``CUSUM`` with ``shift=None``: one CUSUM per change size
0.1, 0.2, ..., 3.2 sigma, each with a bar raised or lowered by the log of its information per
value) with its reference (mean and spread, or error rate) estimated from the no-change
calibration streams; it does not know the size of the change. River's detectors (ADWIN, KSWIN,
PageHinkley with mode "up", DDM and HDDM_W for 0/1 streams) need no reference.

Design constants were not chosen on these streams: the bank's grid and its information weighting
were picked among other designs (the former exponentially weighted CUSUMs, other grids and
weightings, a window-limited GLR, a Shiryaev-Roberts mixture, hybrids) by running the same
protocol on separate seeds (calibration streams 100-119, test streams 700,000+ and 800,000+; the
SEA model is part of the stream definition), including changes this bench does not report (0.14,
0.25 and 2 sigma).
``python -m bench.stats_detection [--quick]``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from kubedrift.stats.calibration import calibrate, false_alarm_rate
from kubedrift.stats.detectors import CUSUM, DriftDetector

TARGET = 10_000
CHANGE = 1_000
HORIZON = 6_000
QUICK = "--quick" in sys.argv
RUNS = 10 if QUICK else 40
CALIBRATION_STREAMS = 3 if QUICK else 10
CALIBRATION_LENGTH = 10_000
ITERATIONS = 6 if QUICK else 10


class River(DriftDetector):
    """Adapter giving a river detector kubedrift's ``clone``/``update`` so one calibration
    routine serves all (river resets its own state after a detection)."""

    def __init__(self, factory: Callable[..., Any], **params: Any) -> None:
        super().__init__()
        self.factory = factory
        self.kwargs = params
        self._inner = factory(**params)

    def params(self) -> dict[str, Any]:
        return dict(self.kwargs)

    def clone(self, **changes: Any) -> River:
        return River(self.factory, **{**self.kwargs, **changes})

    def _step(self, x: float) -> bool:
        self._inner.update(x)
        return bool(self._inner.drift_detected)

    def _reset(self) -> None:
        """River resets itself on the update after a detection."""


@dataclass(frozen=True)
class Contender:
    name: str
    detector: DriftDetector
    parameter: str
    low: float
    high: float
    higher_is_stricter: bool
    streams: int = CALIBRATION_STREAMS


@dataclass(frozen=True)
class Family:
    """A kind of stream: its no-change generator and the changes tested on it."""

    name: str
    null: Callable[[int, int], np.ndarray]
    binary: bool
    changes: tuple[tuple[str, Callable[[int, int], np.ndarray], float | tuple[float, float]], ...]


def gaussian(shift: float) -> Callable[[int, int], np.ndarray]:
    return lambda seed, n: np.random.default_rng(seed).normal(shift, 1.0, n)


def bernoulli(rate: float) -> Callable[[int, int], np.ndarray]:
    return lambda seed, n: (np.random.default_rng(seed).random(n) < rate).astype(float)


def sea_errors() -> tuple[Callable[[int, int], np.ndarray], Callable[[int, int], np.ndarray]]:
    from river import tree  # noqa: PLC0415
    from river.datasets import synth  # noqa: PLC0415

    model = tree.HoeffdingTreeClassifier()
    for x, y in synth.SEA(variant=0, noise=0.1, seed=1).take(5000):
        model.learn_one(x, y)

    def errors(variant: int) -> Callable[[int, int], np.ndarray]:
        def make(seed: int, n: int) -> np.ndarray:
            stream = synth.SEA(variant=variant, noise=0.1, seed=10_000 + seed).take(n)
            return np.array([float(model.predict_one(x) != y) for x, y in stream])

        return make

    return errors(0), errors(3)


def contenders(family: Family, calibration: list[np.ndarray]) -> list[Contender]:
    from river import drift  # noqa: PLC0415

    joined = np.concatenate(calibration)
    if family.binary:
        ours: DriftDetector = CUSUM(mean=float(joined.mean()), family="bernoulli")
    else:
        ours = CUSUM(mean=float(joined.mean()), std=float(joined.std()))
    found = [
        Contender("kubedrift CUSUM bank", ours, "threshold", 1.0, 40.0, True),
        Contender("river ADWIN", River(drift.ADWIN), "delta", 1e-12, 1.0, False),
        Contender(
            "river KSWIN",
            River(drift.KSWIN, seed=1),
            "alpha",
            1e-15,
            0.5,
            False,
            streams=min(3, CALIBRATION_STREAMS),
        ),
        Contender(
            "river PageHinkley", River(drift.PageHinkley, mode="up"), "threshold", 0.5, 2000.0, True
        ),
    ]
    if family.binary:
        found += [
            Contender("river DDM", River(drift.binary.DDM), "drift_threshold", 1.0, 30.0, True),
            Contender(
                "river HDDM_W", River(drift.binary.HDDMW), "drift_confidence", 1e-15, 0.5, False
            ),
        ]
    return found


def oracle(family: Family, change: float | tuple[float, float]) -> Contender:
    if isinstance(change, tuple):
        p0, p1 = change
        shift = (p1 - p0) / math.sqrt(p0 * (1 - p0))
        detector = CUSUM(mean=p0, family="bernoulli", shift=shift)
    else:
        detector = CUSUM(mean=0.0, std=1.0, shift=change)
    return Contender("oracle CUSUM", detector, "threshold", 0.5, 40.0, True)


def delays(
    detector: DriftDetector,
    changed: Callable[[int, int], np.ndarray],
    null: Callable[[int, int], np.ndarray],
    runs: int,
) -> tuple[float, float, int]:
    found = []
    misses = 0
    for run in range(runs):
        stream = np.concatenate([null(500_000 + run, CHANGE), changed(600_000 + run, HORIZON)])
        fresh = detector.clone()
        delay = HORIZON
        for index, value in enumerate(stream.tolist()):
            if fresh.update(value).drift_detected and index >= CHANGE:
                delay = index - CHANGE + 1
                break
        misses += delay == HORIZON
        found.append(delay)
    values = np.array(found, dtype=float)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values))), misses


def main() -> int:
    try:
        import river  # noqa: F401, PLC0415
    except ImportError as error:
        print(
            f"skipped: river cannot be imported ({error}); the streams (c) and every peer "
            "need it: pip install -e '.[bench]'"
        )
        return 0
    sea_null, sea_changed = sea_errors()
    sea_p0 = float(sea_null(90_001, 200_000).mean())
    sea_p1 = float(sea_changed(90_002, 200_000).mean())
    families = [
        Family(
            "gaussian",
            gaussian(0.0),
            False,
            (
                ("(a) mean +0.5 sigma", gaussian(0.5), 0.5),
                ("(a) mean +1 sigma", gaussian(1.0), 1.0),
                ("(a) mean +0.75 sigma", gaussian(0.75), 0.75),
            ),
        ),
        Family(
            "error rate",
            bernoulli(0.15),
            True,
            (("(b) error rate 0.15 -> 0.30", bernoulli(0.30), (0.15, 0.30)),),
        ),
        Family(
            "SEA errors",
            sea_null,
            True,
            (
                (
                    f"(c) SEA 0 -> 3, errors {sea_p0:.3f} -> {sea_p1:.3f}",
                    sea_changed,
                    (sea_p0, sea_p1),
                ),
            ),
        ),
    ]
    print(
        f"false alarms calibrated to <= 1 per {TARGET} samples on {CALIBRATION_STREAMS} x "
        f"{CALIBRATION_LENGTH} no-change samples (KSWIN: 3 x {CALIBRATION_LENGTH}, it costs "
        f"~0.25 ms per update); change at sample {CHANGE}, horizon {HORIZON}, {RUNS} runs; "
        "kubedrift's design constants were chosen on other seeds (see the module docstring)"
    )
    summary = []
    for family in families:
        calibration = [family.null(seed, CALIBRATION_LENGTH) for seed in range(CALIBRATION_STREAMS)]
        tuned: list[tuple[Contender, float, float]] = []
        for contender in contenders(family, calibration):
            tuned.append(tune(contender, calibration))
        for label, changed, truth in family.changes:
            oracle_tuned = tune(oracle(family, truth), calibration)
            print(f"\n{label}")
            print(
                f"  {'detector':<20} {'parameter':<28} {'FA/10k':>7} {'mean delay':>12} "
                f"{'misses':>7} {'x oracle':>9}"
            )
            rows = []
            for contender, value, rate in [oracle_tuned, *tuned]:
                started = time.perf_counter()
                mean, error, misses = delays(
                    contender.detector.clone(**{contender.parameter: value}),
                    changed,
                    family.null,
                    RUNS,
                )
                rows.append(
                    (
                        contender.name,
                        contender.parameter,
                        value,
                        rate,
                        mean,
                        error,
                        misses,
                        time.perf_counter() - started,
                    )
                )
            oracle_delay = rows[0][4]
            for name, parameter, value, rate, mean, error, misses, _ in rows:
                print(
                    f"  {name:<20} {parameter + '=' + f'{value:.3g}':<28} "
                    f"{rate * 1e4:>7.1f} {mean:>7.1f} ±{error:<4.1f} {misses:>7} "
                    f"{mean / oracle_delay:>8.2f}x"
                )
            ours = next(r for r in rows if r[0].startswith("kubedrift"))
            best_river = min((r for r in rows if r[0].startswith("river")), key=lambda r: r[4])
            summary.append(
                (label, ours[4] / oracle_delay, best_river[0], best_river[4] / oracle_delay)
            )
    print(
        "\nsummary (mean delay relative to the oracle; target: kubedrift <= 1.25x and below "
        "every river detector)"
    )
    for label, ours_ratio, river_name, river_ratio in summary:
        print(
            f"  {label:<44} kubedrift {ours_ratio:5.2f}x   best river ({river_name}) "
            f"{river_ratio:5.2f}x"
        )
    return 0


def tune(contender: Contender, calibration: list[np.ndarray]) -> tuple[Contender, float, float]:
    streams = calibration[: contender.streams]
    value = calibrate(
        contender.detector,
        contender.parameter,
        streams,
        TARGET,
        low=contender.low,
        high=contender.high,
        higher_is_stricter=contender.higher_is_stricter,
        iterations=ITERATIONS,
    )
    rate = false_alarm_rate(contender.detector.clone(**{contender.parameter: value}), streams)
    return contender, value, rate


if __name__ == "__main__":
    sys.exit(main())
