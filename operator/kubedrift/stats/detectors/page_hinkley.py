"""Page-Hinkley test: a cumulative sum of deviations from the running mean."""

from __future__ import annotations

from typing import Literal

from kubedrift.stats.detectors.base import DriftDetector


class PageHinkley(DriftDetector):
    """Detects a change in the mean of a stream with no reference given in advance.

    It tracks the running mean, accumulates ``x - mean - delta`` (decayed by ``alpha``) and signals
    when that sum rises more than ``threshold`` above its minimum (``mode="up"``; ``"down"`` for
    decreases, ``"both"`` for either) after at least ``min_instances`` values. Use it when the
    pre-change level is unknown; with a reference, :class:`~kubedrift.stats.detectors.cusum.CUSUM`
    reacts faster at the same false-alarm rate.

    Parameters
    ----------
    min_instances
        Values seen before a detection is allowed.
    delta
        Magnitude of change tolerated per value.
    threshold
        Height of the cumulative sum above its minimum that signals drift.
    alpha
        Forgetting factor of the cumulative sum (1 keeps everything).
    mode
        ``"up"``, ``"down"`` or ``"both"``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(42)
    >>> stream = np.concatenate([rng.normal(0, 1, 500), rng.normal(2, 1, 500)])
    >>> detector = PageHinkley()
    >>> for i, x in enumerate(stream):
    ...     if detector.update(x).drift_detected:
    ...         print(f"change found at {i}")
    change found at 519
    """

    def __init__(
        self,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        mode: Literal["up", "down", "both"] = "both",
    ) -> None:
        super().__init__()
        if mode not in ("up", "down", "both"):
            raise ValueError(f"mode must be up, down or both, not {mode!r}")
        self.min_instances = min_instances
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
        self.mode = mode
        self._reset()

    def _reset(self) -> None:
        self._n = 0
        self._mean = 0.0
        self._sum_up = 0.0
        self._min_up = 0.0
        self._sum_down = 0.0
        self._max_down = 0.0

    def _step(self, x: float) -> bool:
        self._n += 1
        self._mean += (x - self._mean) / self._n
        self._sum_up = self.alpha * self._sum_up + (x - self._mean - self.delta)
        self._min_up = min(self._min_up, self._sum_up)
        self._sum_down = self.alpha * self._sum_down + (x - self._mean + self.delta)
        self._max_down = max(self._max_down, self._sum_down)
        if self._n < self.min_instances:
            return False
        up = self._sum_up - self._min_up > self.threshold
        down = self._max_down - self._sum_down > self.threshold
        if self.mode == "up":
            return up
        if self.mode == "down":
            return down
        return up or down
