"""ADWIN: an adaptive window that drops its old part when the two parts' means differ."""

from __future__ import annotations

import math

import numpy as np

from kubedrift.stats.detectors.base import DriftDetector


class ADWIN(DriftDetector):
    """Adaptive windowing (Bifet and Gavalda, 2007) for a change in the mean of a stream.

    The window is kept as an exponential histogram: buckets of 1, 2, 4, ... values with at most
    ``max_buckets`` buckets per size, so memory is logarithmic in the window length. Every
    ``clock`` values, each split of the window into an older and a newer part is checked; when
    the parts' means differ by more than the Hoeffding/Bernstein-style bound
    ``sqrt(2 v ln(2/d) / m) + 2 ln(2/d) / (3 m)`` (``v`` the window variance, ``m`` the harmonic
    mean of the part sizes, ``d = delta / ln(n)``), the oldest bucket is dropped and drift is
    signalled. Use it when neither the pre-change level nor the size of the change is known.

    Parameters
    ----------
    delta
        Confidence of each cut test; smaller means fewer false alarms and slower detection.
    clock
        How often (in values) the cut test runs.
    max_buckets
        Buckets kept per size before two are merged.
    min_window_length
        Smallest part size on either side of a cut.
    grace_period
        Values seen before the first test.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(42)
    >>> stream = np.concatenate([rng.normal(0, 1, 1000), rng.normal(1, 1, 1000)])
    >>> detector = ADWIN()
    >>> for i, x in enumerate(stream):
    ...     if detector.update(x).drift_detected:
    ...         print(f"change found at {i}")
    change found at 1055
    """

    def __init__(
        self,
        delta: float = 0.002,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        super().__init__()
        self.delta = delta
        self.clock = clock
        self.max_buckets = max_buckets
        self.min_window_length = min_window_length
        self.grace_period = grace_period
        self._reset()

    @property
    def width(self) -> int:
        """Values currently in the window."""
        return self._width

    def _reset(self) -> None:
        # levels[i] holds buckets of 2**i values, oldest first: [count, sum, M2].
        self._levels: list[list[list[float]]] = []
        self._width = 0
        self._ticks = 0

    def _step(self, x: float) -> bool:
        self._insert([1.0, x, 0.0], 0)
        self._width += 1
        self._ticks += 1
        if self._width < self.grace_period or self._ticks % self.clock:
            return False
        drifted = False
        while self._cut_found():
            self._drop_oldest()
            drifted = True
        return drifted

    def _insert(self, bucket: list[float], level: int) -> None:
        if level == len(self._levels):
            self._levels.append([])
        self._levels[level].append(bucket)
        if len(self._levels[level]) > self.max_buckets:
            first, second = self._levels[level].pop(0), self._levels[level].pop(0)
            self._insert(_combine(first, second), level + 1)

    def _buckets(self) -> np.ndarray:
        """All buckets oldest first (higher levels are older) as rows of count, sum, M2."""
        rows = [bucket for level in reversed(self._levels) for bucket in level]
        return np.asarray(rows, dtype=np.float64)

    def _cut_found(self) -> bool:
        buckets = self._buckets()
        if len(buckets) < 2:
            return False
        counts, sums = buckets[:, 0], buckets[:, 1]
        n = counts.sum()
        mean = sums.sum() / n
        centred = buckets[:, 2] + counts * (sums / counts - mean) ** 2
        variance = centred.sum() / n
        old_n = np.cumsum(counts)[:-1]
        old_sum = np.cumsum(sums)[:-1]
        new_n = n - old_n
        usable = (old_n >= self.min_window_length) & (new_n >= self.min_window_length)
        if not usable.any():
            return False
        old_n, old_sum, new_n = old_n[usable], old_sum[usable], new_n[usable]
        gap = np.abs(old_sum / old_n - (sums.sum() - old_sum) / new_n)
        m = 1.0 / (1.0 / old_n + 1.0 / new_n)
        log_term = math.log(2.0 * math.log(n) / self.delta)
        bound = np.sqrt(2.0 * variance * log_term / m) + 2.0 * log_term / (3.0 * m)
        return bool((gap > bound).any())

    def _drop_oldest(self) -> None:
        top = len(self._levels) - 1
        oldest = self._levels[top].pop(0)
        self._width -= int(oldest[0])
        if not self._levels[top]:
            self._levels.pop()


def _combine(first: list[float], second: list[float]) -> list[float]:
    n1, s1, m1 = first
    n2, s2, m2 = second
    n = n1 + n2
    delta = s2 / n2 - s1 / n1
    return [n, s1 + s2, m1 + m2 + delta * delta * n1 * n2 / n]
