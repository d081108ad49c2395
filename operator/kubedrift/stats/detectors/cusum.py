"""CUSUM against a known reference: tuned to one change, or a bank for changes of unknown size."""

from __future__ import annotations

import math
from typing import Literal

from kubedrift.stats.detectors.base import DriftDetector

#: Keeps a Bernoulli alternative rate strictly inside (0, 1).
RATE_LIMIT = 1e-6

#: Alternatives of the bank, in reference standard deviations: a factor-2 grid. A CUSUM tuned to
#: ``s`` gains ``s d - s^2 / 2`` per value of a change ``d``, so for any change between 0.1 and
#: 3.2 sigma one of them gains at least 8/9 of what the CUSUM tuned to ``d`` gains (the worst
#: case is a change 1.5 times a grid point).
SHIFTS = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2)


class CUSUM(DriftDetector):
    """Page's CUSUM of log-likelihood ratios against a reference level and spread.

    Each value is standardized with the reference (``mean`` and ``std`` from the baseline, or
    estimated over the first ``warmup`` values when ``None``). With ``shift`` given (in reference
    standard deviations) it is the classic CUSUM ``S = max(0, S + llr(x))`` tuned to that change,
    signalling when ``S > threshold``: the fastest detector at a given false-alarm rate when the
    change is known (Lorden), used as the oracle in the benchmarks; ``exp(threshold)`` bounds its
    mean run length to a false alarm from below.

    With ``shift=None`` (the default) the size of the change is unknown and it runs a *bank*: one
    CUSUM per entry of ``shifts`` (0.1 to 3.2 sigma by default), statistic ``k`` signalling when
    ``S_k > threshold + ln I_k``, where ``I_k`` is the Kullback-Leibler information per value
    between the reference and alternative ``k``. By Wald's approximation a CUSUM's mean run
    length on no-change data is about ``exp(bar) / I``, so every statistic gets about the same
    run length ``exp(threshold)`` and the false-alarm budget is shared evenly across the sizes of
    change: the CUSUMs for small changes, whose statistics drift up slowly, may stop lower. At
    equal false alarms its mean delay is within about 1.2 times that of the CUSUM tuned to the
    true change, from 0.14 to 2 sigma (docs/statistics.md, Sequential detectors). Calibrate
    ``threshold`` with :func:`kubedrift.stats.calibration.calibrate`; the default 10 gives about
    one false alarm per 10,000 no-change values on Gaussian and Bernoulli streams (a known-shift
    CUSUM at 10 alarms at most once per ``exp(10)``, about 22,000).

    ``family="gaussian"``: ``llr = s z - s^2/2`` for the standardized value ``z``.
    ``family="bernoulli"`` is for 0/1 streams such as misclassifications: ``mean`` is the
    reference error rate ``p0`` and a shift ``s`` means the rate ``p0 + s sqrt(p0 (1 - p0))``
    (capped just below 1; alternatives that coincide after the cap are kept once).
    A given reference stays fixed across the reset after a detection, so a lasting change keeps
    signalling until the reference is replaced; an estimated one is estimated again from the
    ``warmup`` values after each detection. An estimated mean is off by up to
    ``2 / sqrt(warmup)`` standard deviations (two standard errors), and a CUSUM for a shift ``s``
    drifts upwards on no-change data once the reference is off by more than ``s / 2``, so the bank
    then drops alternatives smaller than ``4 / sqrt(warmup)`` (0.4 sigma for the default 100
    values); give a reference, or a longer warm-up, to watch for smaller changes.

    Parameters
    ----------
    mean, std
        Reference level and spread; ``None`` estimates them from the first ``warmup`` values
        (``std`` is not needed for the Bernoulli family).
    threshold
        With ``shift``: height of the statistic that signals drift. Without: about the natural
        log of each statistic's mean run length between false alarms.
    shift
        Known change size in reference standard deviations, or ``None`` for the bank.
    shifts
        Alternatives of the bank, in reference standard deviations (positive).
    direction
        ``"up"``, ``"down"`` or ``"both"`` (a Bernoulli CUSUM watches increases).
    family
        ``"gaussian"`` or ``"bernoulli"``.
    warmup
        Values used to estimate a missing reference.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(42)
    >>> stream = np.concatenate([rng.normal(0, 1, 1000), rng.normal(1, 1, 1000)])
    >>> detector = CUSUM(mean=0.0, std=1.0)
    >>> next(i for i, x in enumerate(stream) if detector.update(x).drift_detected)
    1011
    """

    def __init__(
        self,
        mean: float | None = None,
        std: float | None = None,
        threshold: float = 10.0,
        *,
        shift: float | None = None,
        shifts: tuple[float, ...] = SHIFTS,
        direction: Literal["up", "down", "both"] = "up",
        family: Literal["gaussian", "bernoulli"] = "gaussian",
        warmup: int = 100,
    ) -> None:
        super().__init__()
        if direction not in ("up", "down", "both"):
            raise ValueError(f"direction must be up, down or both, not {direction!r}")
        if family not in ("gaussian", "bernoulli"):
            raise ValueError(f"family must be gaussian or bernoulli, not {family!r}")
        if family == "bernoulli" and mean is not None and not 0 < mean < 1:
            raise ValueError("a Bernoulli reference rate must be strictly between 0 and 1")
        if shift is None and (not shifts or min(shifts) <= 0):
            raise ValueError("shifts must be a non-empty tuple of positive sizes")
        self.mean = mean
        self.std = std
        self.threshold = threshold
        self.shift = shift
        self.shifts = tuple(shifts)
        self.direction = direction
        self.family = family
        self.warmup = warmup
        self._reset()

    def _reset(self) -> None:
        self._seen: list[float] = []
        self._location = 0.0
        self._scale = 1.0
        # One alternative per statistic: its log-likelihood ratio is linear in the value fed to
        # _advance (the standardized value, or the 0/1 value), as (slope, intercept), and the bar
        # its statistic must cross.
        self._alternatives: list[tuple[float, float, float]] = []
        # Statistic per watched side (up, down) and alternative.
        self._sides: list[list[float]] = [[], []]
        if self.mean is not None and (self.std is not None or self.family == "bernoulli"):
            self._prepare(self.mean, self.std, estimated=False)

    def _prepare(self, mean: float, std: float | None, *, estimated: bool) -> None:
        if self.family == "bernoulli":
            self._location = min(max(mean, RATE_LIMIT), 1 - RATE_LIMIT)
            self._scale = math.sqrt(self._location * (1 - self._location))
        else:
            self._location = mean
            self._scale = std if std else 1.0
        if self.shift is not None:
            sizes = [self.shift]
        else:
            floor = 4.0 / math.sqrt(self.warmup) if estimated else 0.0
            sizes = [s for s in sorted(self.shifts) if s >= floor] or [max(self.shifts)]
        for size in sizes:
            alternative = self._alternative(size)
            if alternative not in self._alternatives:
                self._alternatives.append(alternative)
        self._sides = [[0.0] * len(self._alternatives) for _ in range(2)]

    def _alternative(self, size: float) -> tuple[float, float, float]:
        if self.family == "bernoulli":
            p0 = self._location
            p1 = min(p0 + size * self._scale, 1 - RATE_LIMIT)
            one, zero = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
            slope, intercept = one - zero, zero
            information = -(p0 * one + (1 - p0) * zero)
        else:
            slope, intercept = size, -size * size / 2
            information = size * size / 2
        bar = self.threshold if self.shift is not None else self.threshold + math.log(information)
        return slope, intercept, bar

    def _step(self, x: float) -> bool:
        if not self._alternatives:
            self._seen.append(x)
            if len(self._seen) >= self.warmup:
                n = len(self._seen)
                mean = sum(self._seen) / n
                variance = sum((v - mean) ** 2 for v in self._seen) / max(n - 1, 1)
                self._prepare(
                    self.mean if self.mean is not None else mean,
                    self.std if self.std is not None else math.sqrt(variance),
                    estimated=self.mean is None,
                )
            return False
        if self.family == "bernoulli":
            return self._advance(self._sides[0], 1.0 if x >= 0.5 else 0.0)
        z = (x - self._location) / self._scale
        alarm = False
        if self.direction != "down":
            alarm = self._advance(self._sides[0], z)
        if self.direction != "up":
            alarm = self._advance(self._sides[1], -z) or alarm
        return alarm

    def _advance(self, statistics: list[float], value: float) -> bool:
        """One step of every statistic on one side."""
        alarm = False
        for k, (slope, intercept, bar) in enumerate(self._alternatives):
            statistic = statistics[k] + slope * value + intercept
            statistic = statistic if statistic > 0.0 else 0.0
            statistics[k] = statistic
            alarm = alarm or statistic > bar
        return alarm
