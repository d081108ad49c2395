"""The false-alarm contract: how rarely a monitor may cry wolf, turned into one threshold.

A monitor states ``T``, the mean time between false alarms it accepts (``spec.evaluation.
meanTimeBetweenFalseAlarms``, default 30 days), and evaluates every ``interval`` seconds. Its
engine runs ``A`` one-sided alternatives (each feature's location, spread and shape
alternatives, each data-quality rate, the error rate, the windowed metric's look), grouped by
what they alarm (a column's drift, one rate). Each alternative ``j`` runs a Shiryaev-Roberts
e-detector (Shin, Ramdas and Rinaldo, *E-detectors*, 2023): per step it multiplies an e-value ``E``,
a statistic whose expectation is at most 1 under no change, into ``R_j = (1 + R_j) E``, the sum
over every start time of the e-process started then. Under no change ``R_j - t`` is a
supermartingale. A group ``g`` alarms when the weighted sum ``sum_{j in g} rho_j R_j`` reaches
``W c`` with ``W = sum_j rho_j`` over the whole monitor: ``sum_{j in g} rho_j R_j - W_g t`` is a
supermartingale too, so by optional stopping the mean number of steps to the group's crossing is
at least ``W c / W_g``; after a crossing the group starts again, so it crosses at most ``W_g /
(W c)`` times per step on average, and all groups together at most ``1 / c``. With ``c = T /
interval`` that is one false alarm per ``T``.

The weights ``rho`` (see ``plan``) are 1 for drift alternatives (and the windowed metric's look and
the estimated error rate's), the number of its category tilts for a categorical column's plug-in,
``DATA_QUALITY_WEIGHT`` for data-quality ones, and for the error rate's alternatives together as
much as all the others (``PERFORMANCE_SHARE``), so ``W`` is the alternatives counted by weight, and
in logs the threshold is ``h = ln(W T / interval)`` on ``ln sum rho_j R_j``. The sum over a group (a
mixture over its alternatives) is at least its largest term, and ``R_j`` is at least the exponential
of the alternative's CUSUM statistic, so this detects no later than a union of CUSUMs at the same
``h``, and sooner when several alternatives of a group earn together. The contract holds whatever
the traffic rate (an e-value is valid for any number of rows in the step), the interval, the number
of features and the window settings, and whatever the dependence between columns (the bound adds
expectations); only the threshold moves, and only logarithmically.

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
