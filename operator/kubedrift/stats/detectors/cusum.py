"""CUSUM against a known reference, with the size of the change learned on the fly."""

from __future__ import annotations

import math
from typing import Literal

from kubedrift.stats.detectors.base import DriftDetector

#: Keeps a Bernoulli alternative rate strictly inside (0, 1).
RATE_LIMIT = 1e-6


class CUSUM(DriftDetector):
    """Page's CUSUM of log-likelihood ratios against a reference level and spread.

    Each value is standardized with the reference (``mean`` and ``std`` from the baseline, or
    estimated over the first ``warmup`` values when ``None``) and the statistic
    ``S = max(0, S + llr(x))`` signals drift above ``threshold``. With ``shift`` given (in
    reference standard deviations) it is the classic CUSUM tuned to that change: the fastest
    detector at a given false-alarm rate when the change is known (Lorden), used as the oracle in
    the benchmarks. With ``shift=None`` (the default) it is *adaptive*: one CUSUM per entry of
    ``rates``, each using as its alternative an exponentially weighted mean of the past
    standardized values (weight ``rate`` on the newest, so memories of about 100, 20 and 5
    values by default), never below ``min_shift``; drift when any crosses the threshold. The
    estimates only use past values, so each increment is still a log-likelihood ratio and the
    threshold keeps its meaning (Lorden's bound holds per statistic), while the detector learns
    the size of the change as it happens: a long memory for small shifts, a short one for large
    ones. Calibrate ``threshold`` with :func:`kubedrift.stats.calibration.calibrate`.

    ``family="gaussian"``: ``llr = s z - s^2/2`` for the standardized value ``z``.
    ``family="bernoulli"`` is for 0/1 streams such as misclassifications: ``mean`` is the
    reference error rate ``p0`` and a shift ``s`` means the rate ``p0 + s sqrt(p0 (1 - p0))``.
    The reference stays fixed across the reset after a detection, so a lasting change keeps
    signalling until the reference is replaced.

    Parameters
    ----------
    mean, std
        Reference level and spread; ``None`` estimates them from the first ``warmup`` values
        (``std`` is not needed for the Bernoulli family).
    threshold
        Height of the statistic that signals drift.
    shift
        Known change size in reference standard deviations, or ``None`` to learn it.
    rates
        Weights of the newest value in the adaptive estimates, one statistic each.
    min_shift
        Floor of the adaptive estimates, in reference standard deviations.
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
    >>> detector = CUSUM(mean=0.0, std=1.0, threshold=7.0)
    >>> next(i for i, x in enumerate(stream) if detector.update(x).drift_detected)
    1009
    """

    def __init__(
        self,
        mean: float | None = None,
        std: float | None = None,
        threshold: float = 7.0,
        *,
        shift: float | None = None,
        rates: tuple[float, ...] = (0.01, 0.05, 0.2),
        min_shift: float = 0.1,
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
        self.mean = mean
        self.std = std
        self.threshold = threshold
        self.shift = shift
        self.rates = tuple(rates)
        self.min_shift = min_shift
        self.direction = direction
        self.family = family
        self.warmup = warmup
        self._reset()

    def _reset(self) -> None:
        self._seen: list[float] = []
        self._ready = False
        self._location = 0.0
        self._scale = 1.0
        if self.mean is not None and (self.std is not None or self.family == "bernoulli"):
            self._prepare(self.mean, self.std)
        # Per watched side (up, down) and per rate: [statistic, estimate of the shift].
        statistics = 1 if self.shift is not None else len(self.rates)
        self._sides = [[[0.0, 0.0] for _ in range(statistics)] for _ in range(2)]

    def _prepare(self, mean: float, std: float | None) -> None:
        if self.family == "bernoulli":
            self._location = min(max(mean, RATE_LIMIT), 1 - RATE_LIMIT)
            self._scale = math.sqrt(self._location * (1 - self._location))
        else:
            self._location = mean
            self._scale = std if std else 1.0
        self._ready = True

    def _step(self, x: float) -> bool:
        if not self._ready:
            self._seen.append(x)
            if len(self._seen) >= self.warmup:
                n = len(self._seen)
                mean = sum(self._seen) / n
                variance = sum((v - mean) ** 2 for v in self._seen) / max(n - 1, 1)
                self._prepare(
                    self.mean if self.mean is not None else mean,
                    self.std if self.std is not None else math.sqrt(variance),
                )
            return False
        z = (x - self._location) / self._scale
        alarm = False
        if self.direction != "down":
            alarm = self._advance(self._sides[0], z, x >= 0.5)
        if self.direction != "up" and self.family == "gaussian":
            alarm = self._advance(self._sides[1], -z, False) or alarm
        return alarm

    def _advance(self, side: list[list[float]], z: float, hit: bool) -> bool:
        alarm = False
        for k, state in enumerate(side):
            statistic, estimate = state
            shift = self.shift if self.shift is not None else max(self.min_shift, estimate)
            if self.family == "bernoulli":
                p0 = self._location
                p1 = min(p0 + shift * self._scale, 1 - RATE_LIMIT)
                step = math.log(p1 / p0) if hit else math.log((1 - p1) / (1 - p0))
            else:
                step = shift * z - shift * shift / 2
            statistic = max(0.0, statistic + step)
            if self.shift is None:
                rate = self.rates[k]
                estimate = (1 - rate) * estimate + rate * z
            state[0], state[1] = statistic, estimate
            alarm = alarm or statistic > self.threshold
        return alarm
