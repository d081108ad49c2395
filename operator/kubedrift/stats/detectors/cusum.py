"""A mixture CUSUM: near-optimal detection of a shift of unknown size from a known reference."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from kubedrift.stats.detectors.base import DriftDetector


class CUSUM(DriftDetector):
    """Page's CUSUM run in parallel for a grid of shift sizes; drift when any one crosses.

    With the reference ``mean`` and ``std`` known (from the baseline, or estimated on the first
    ``warmup`` values when left ``None``), each value is standardized and every shift ``s`` in
    ``shifts`` (in reference standard deviations) keeps its own CUSUM of log-likelihood ratios
    ``S = max(0, S + llr_s(x))``. A CUSUM tuned to the true shift is the fastest detector at a
    given false-alarm rate (Lorden); the geometric grid keeps every shift between a quarter and
    twice a standard deviation within a small factor of that, for a threshold only about
    ``ln(len(shifts))`` higher. Calibrate ``threshold`` with
    :func:`kubedrift.stats.calibration.calibrate` for a target run length between false alarms.
    The reference stays fixed across the reset after a detection, so a lasting change keeps
    signalling (about once per detection delay) until the reference is replaced.

    ``family="gaussian"`` uses ``llr = s z - s^2/2`` on the standardized value ``z``;
    ``family="bernoulli"`` is for 0/1 streams such as misclassifications: ``mean`` is the
    reference error rate ``p0`` and each shift means ``p1 = p0 + s sqrt(p0 (1 - p0))``.

    Parameters
    ----------
    mean, std
        Reference level and spread; ``None`` estimates them from the first ``warmup`` values.
    threshold
        Height a CUSUM must exceed to signal drift.
    shifts
        Shift sizes watched, in reference standard deviations.
    direction
        ``"up"``, ``"down"`` or ``"both"`` (Gaussian only; a Bernoulli CUSUM watches increases).
    family
        ``"gaussian"`` or ``"bernoulli"``.
    warmup
        Values used to estimate a missing ``mean`` or ``std``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(42)
    >>> stream = np.concatenate([rng.normal(0, 1, 1000), rng.normal(1, 1, 1000)])
    >>> detector = CUSUM(mean=0.0, std=1.0, threshold=10.0)
    >>> next(i for i, x in enumerate(stream) if detector.update(x).drift_detected)
    1020
    """

    def __init__(
        self,
        mean: float | None = None,
        std: float | None = None,
        threshold: float = 10.0,
        *,
        shifts: Sequence[float] = (0.25, 0.5, 1.0, 2.0),
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
        self.shifts = tuple(shifts)
        self.direction = direction
        self.family = family
        self.warmup = warmup
        self._reset()

    def _reset(self) -> None:
        self._seen: list[float] = []
        self._increments: list[tuple[float, float]] | None = None
        self._location = 0.0
        self._scale = 1.0
        if self.mean is not None and (self.std is not None or self.family == "bernoulli"):
            self._prepare(self.mean, self.std)
        self._up = [0.0] * len(self.shifts)
        self._down = [0.0] * len(self.shifts)

    def _prepare(self, mean: float, std: float | None) -> None:
        if self.family == "bernoulli":
            p0 = min(max(mean, 1e-6), 1 - 1e-6)
            spread = math.sqrt(p0 * (1 - p0))
            self._increments = []
            for shift in self.shifts:
                p1 = min(p0 + shift * spread, 1 - 1e-6)
                self._increments.append((math.log(p1 / p0), math.log((1 - p1) / (1 - p0))))
            return
        self._location = mean
        self._scale = std if std else 1.0
        self._increments = [(shift, shift * shift / 2) for shift in self.shifts]

    def _step(self, x: float) -> bool:
        if self._increments is None:
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
        if self.family == "bernoulli":
            return self._bernoulli(x)
        z = (x - self._location) / self._scale
        alarm = False
        for k, (shift, drift) in enumerate(self._increments):
            if self.direction != "down":
                self._up[k] = max(0.0, self._up[k] + shift * z - drift)
                alarm = alarm or self._up[k] > self.threshold
            if self.direction != "up":
                self._down[k] = max(0.0, self._down[k] - shift * z - drift)
                alarm = alarm or self._down[k] > self.threshold
        return alarm

    def _bernoulli(self, x: float) -> bool:
        assert self._increments is not None
        alarm = False
        for k, (hit, miss) in enumerate(self._increments):
            self._up[k] = max(0.0, self._up[k] + (hit if x >= 0.5 else miss))
            alarm = alarm or self._up[k] > self.threshold
        return alarm
