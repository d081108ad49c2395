"""The false-alarm contract: how rarely a monitor may cry wolf, turned into one threshold.

A monitor states ``T``, the mean time between false alarms it accepts (``spec.evaluation.
meanTimeBetweenFalseAlarms``, default 30 days), and evaluates every ``interval`` seconds. Its
engine runs ``A`` one-sided detectors ("alternatives": each feature's location, spread and shape
alternatives, each data-quality rate, the error rate, the windowed metric's look). Each is an
e-CUSUM (Shin, Ramdas and Rinaldo, *E-detectors*, 2023): per step it multiplies an e-value,
a statistic whose expectation is at most 1 under no change, into ``M = max(M, 1) * E`` and
alarms when ``M >= c``. Under no change, ``M_SR - t`` summed over start times is a
supermartingale, so by optional stopping the mean number of steps to a false alarm is at least
``c``; after an alarm the detector starts again, so it raises at most one false alarm per ``c``
steps on average, i.e. per ``c * interval`` seconds.

Sharing the budget evenly, every alternative gets ``c = A * T / interval``: the rates add up to
at most ``A / (A T) = 1 / T``. The contract therefore holds whatever the traffic rate (an e-value
is valid for any number of rows in the step), the interval, the number of features and the
window settings; only the threshold moves, and only logarithmically: ``h = ln(A T / interval)``.

The reference's finite size is part of the null (``reference``): each confidence set holds with
probability ``1 - reference_risk / R`` for the ``R`` sets a monitor uses, so with probability at
least ``1 - reference_risk`` (99% by default) every one holds and the contract is met; the
unlucky 1% of training sets can make it fail for the life of that baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: ``spec.evaluation.meanTimeBetweenFalseAlarms`` when unset: 30 days.
DEFAULT_MEAN_TIME_BETWEEN_FALSE_ALARMS = 30 * 24 * 3600.0
#: Probability that some reference confidence set misses the truth (see the module docstring).
DEFAULT_REFERENCE_RISK = 0.01


@dataclass(frozen=True)
class Contract:
    """``T`` (seconds between false alarms, on average) at one step every ``interval`` seconds.

    >>> contract = Contract(30 * 24 * 3600.0, 30.0)
    >>> round(contract.threshold(alternatives=50), 2)
    15.28
    """

    mean_time_between_false_alarms: float = DEFAULT_MEAN_TIME_BETWEEN_FALSE_ALARMS
    interval: float = 30.0
    reference_risk: float = DEFAULT_REFERENCE_RISK

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.mean_time_between_false_alarms < self.interval:
            raise ValueError(
                "the mean time between false alarms must be at least one evaluation interval"
            )
        if not 0 < self.reference_risk < 1:
            raise ValueError("reference_risk must be in (0, 1)")

    def steps(self) -> float:
        """Evaluation steps in ``T``."""
        return self.mean_time_between_false_alarms / self.interval

    def threshold(self, alternatives: float) -> float:
        """``h = ln(A T / interval)``: the log e-value each of ``A`` alternatives must reach
        (``A`` may be a weighted count, see ``EnginePlan.budget``)."""
        return math.log(max(alternatives, 1) * self.steps())

    def look_level(self, alternatives: float) -> float:
        """Error probability allowed to one look of a fixed-sample rule (the windowed metric)
        that spends one alternative's share: ``interval / (A T)``."""
        return 1.0 / (max(alternatives, 1) * self.steps())
