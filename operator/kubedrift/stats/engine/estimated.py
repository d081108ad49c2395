"""The estimated error rate as an engine signal: ``PerformanceDegraded`` before labels arrive.

Each row's calibrated probability of its predicted class ``c_i`` (``stats.estimation``) is its
expected correctness, so ``e_i = 1 - c_i`` in [0, 1] is its *expected error*. Under no change
(traffic from the training distribution) the mean of ``e_i`` is the reference's error rate, which
the reference bounds from above by ``p_up``, the one-sided Chernoff bound on its error count
(``reference.rate_upper_bound``, at the engine's level ``delta``).

The detector is the error-rate detector's e-CUSUM with the *fractional* events ``e_i``: for a
Bernoulli alternative ``p1 > p_up`` the per-row factor ``L(e) = (p1 / p_up)^e ((1 - p1) /
(1 - p_up))^(1 - e)`` is convex in ``e``, so on [0, 1] it lies below its chord, ``L(e) <= (1 -
e) L(0) + e L(1)``, whose expectation ``(1 - E e) L(0) + E e L(1)`` increases in ``E e`` and is 1
at ``E e = p_up``. Hence ``L(e_i)`` is an e-value whenever ``E[e_i | past] <= p_up``, whatever
the distribution of ``e_i``, and a product over the rows of an increment is one too. Its log
needs only two sums, ``sum e_i = n - trace(expected)`` and ``n``, which the mergeable
``EstimationSketch`` carries: an increment of the sketch (replicas added, earlier reads
subtracted) feeds the detector exactly like the error count feeds the labeled error rate.

So the estimated signal spends :data:`ALTERNATIVES` (the :data:`~kubedrift.stats.engine.
alternatives.RATE_STEPS`) of the monitor's alternatives and keeps the false-alarm contract on
the same terms as the other rates, with one more assumption than the labeled error rate: the
calibration map holds (no concept drift) and its fitted values are as good as the reference's
error count (the binary map's pooled steps reproduce the reference's error count exactly; its
population mean differs by the map's own estimation error, which the band accounts for but the
null does not). A crossing alarms only when the alternative reached lies ``min_effect`` above
the reference's error rate, and the alarm recovers after ``quiet`` rows without a crossing
while the window's estimated error is less than ``min_effect`` above the reference's.

>>> import numpy as np
>>> from kubedrift.stats.estimation import EstimationSketch, fit_calibration
>>> rng = np.random.default_rng(5)
>>> truth = rng.uniform(size=20_000)
>>> labels = np.where(rng.uniform(size=truth.size) < truth, "1", "0")
>>> calibration = fit_calibration(truth[:, None], labels, ("0", "1"))
>>> detector = EstimatedErrorDetector(calibration, threshold=15.0, delta=0.001, min_effect=0.05)
>>> alarms = []
>>> for step in range(40):   # 200 rows a step; from step 20 on, rows near the boundary
...     low = 0.3 if step >= 20 else 0.0
...     scores = rng.uniform(low, 1.0 - low, size=200)
...     increment = EstimationSketch.empty(calibration)
...     increment.add_scores(calibration, scores[:, None])
...     _ = detector.step(increment, decide=True)
...     alarms.append(detector.alarmed)
>>> alarms.index(True)
21
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from kubedrift.stats.binning import FloatArray
from kubedrift.stats.engine.alternatives import RATE_STEPS, rate_alternatives, rate_weights
from kubedrift.stats.engine.reference import rate_upper_bound
from kubedrift.stats.estimation import CalibrationMap, EstimationSketch

#: Alternatives the estimated error rate adds to a monitor's budget.
ALTERNATIVES = len(RATE_STEPS)
#: Reason of ``PerformanceDegraded`` when this signal raised it.
REASON = "EstimatedErrorRateShift"

Outcome = Literal["quiet", "crossed", "alarmed", "unconfirmed"]


def expected_errors(sketch: EstimationSketch) -> tuple[float, float]:
    """``(sum of expected errors, rows)`` of a sketch or an increment."""
    rows = float(sketch.rows)
    return rows - float(np.trace(sketch.expected)), rows


class EstimatedErrorDetector:
    """e-CUSUM on expected errors against the reference's error rate; see the module docstring.

    ``threshold`` is the engine's ``h = ln(A T / interval)`` (``A`` counting this detector's
    :data:`ALTERNATIVES`), ``delta`` the level of the reference's confidence sets, ``min_effect``
    the practical-significance floor, ``quiet`` the rows without a crossing that recovery needs.
    """

    def __init__(
        self,
        calibration: CalibrationMap,
        *,
        threshold: float,
        delta: float,
        min_effect: float,
        quiet: float = 1_000.0,
    ) -> None:
        self.calibration = calibration
        self.threshold = threshold
        self.delta = delta
        self.min_effect = min_effect
        self.quiet = quiet
        rows = calibration.reference_rows
        self.reference_rate = 1.0 - calibration.reference_accuracy
        self.upper = rate_upper_bound(round(self.reference_rate * rows), rows, delta)
        self._event, self._miss = rate_weights(self.upper)
        self._effects: FloatArray = rate_alternatives(self.upper) - self.reference_rate
        self._statistics: FloatArray = np.zeros(ALTERNATIVES)
        self._quiet_rows = 0.0
        self.alarmed = False
        self.unconfirmed = 0

    @property
    def statistic(self) -> float:
        """The largest CUSUM statistic (log e-value) of the alternatives."""
        return float(self._statistics.max(initial=0.0))

    def step(self, increment: EstimationSketch | None, *, decide: bool) -> Outcome:
        """Add an increment's evidence. ``decide`` is the engine's gate (enough rows in the
        window): without it a crossing keeps running instead of being decided."""
        if increment is None or increment.rows == 0:
            return "quiet"
        errors, rows = expected_errors(increment)
        errors = min(max(errors, 0.0), rows)
        evidence = errors * self._event + (rows - errors) * self._miss
        self._statistics = np.maximum(self._statistics, 0.0) + evidence
        crossed = self._statistics >= self.threshold
        if not crossed.any():
            self._quiet_rows += rows
            return "quiet"
        self._quiet_rows = 0.0
        if not decide:
            return "crossed"
        effect = float(self._effects[crossed].max())
        self._statistics[:] = 0.0
        if effect >= self.min_effect:
            self.alarmed = True
            return "alarmed"
        self.unconfirmed += 1
        return "unconfirmed"

    def recover(self, window: EstimationSketch | None) -> bool:
        """Clear the alarm after ``quiet`` rows without a crossing when ``window``'s estimated
        error rate is less than ``min_effect`` above the reference's; True when it cleared."""
        if not self.alarmed or window is None or window.rows == 0:
            return False
        errors, rows = expected_errors(window)
        calm = errors / rows - self.reference_rate < self.min_effect
        if self._quiet_rows >= self.quiet and calm:
            self.alarmed = False
            return True
        return False

    def message(self, window: EstimationSketch | None) -> str:
        """What ``PerformanceDegraded``'s message says when this signal raised it."""
        if window is None or window.rows == 0:
            estimated = "no rows with probabilities in the window"
        else:
            errors, rows = expected_errors(window)
            estimated = f"estimated accuracy {1 - errors / rows:.4f} over {int(rows)} rows"
        return (
            f"{estimated} (estimated without labels from calibrated probabilities); the "
            f"estimated error rate rose above the reference's {self.reference_rate:.4f}"
        )
