"""The canary's verdict: is a candidate serving part of live traffic better than the serving model?

In a canary the two models answer *different* requests, so their labeled rows are independent
samples, not pairs: the serving model got ``k_s`` of ``n_s`` rows right, the candidate ``k_c`` of
``n_c``. The hypotheses are the promotion gate's (see :mod:`kubedrift.stats.paired_comparison`),
with the same ``margin`` and ``confidence``:

- **promote** when ``H0: p_c - p_s <= margin`` is rejected at level ``1 - confidence``, with the
  Farrington-Manning (1990) score test: ``Z = (p̂_c - p̂_s - margin) / sqrt(p̃_c (1 - p̃_c) / n_c +
  p̃_s (1 - p̃_s) / n_s)``, where ``p̃`` are the maximum-likelihood proportions under
  ``p_c - p_s = margin`` (found here by bisection on the concave restricted log-likelihood; at
  ``margin = 0`` they are the pooled proportion and ``Z`` is the classic two-proportion score
  statistic);
- **roll back** as soon as the candidate is shown *worse*: ``H0: p_c >= p_s`` rejected at the same
  level (the same statistic at ``margin = 0``, lower tail);
- **roll back** too when both models have ``max_rows`` labeled rows and neither was shown (the
  candidate did not prove itself on the budget it was given: never a silent promotion);
- otherwise **wait**, also while either model has fewer than ``min_rows`` labeled rows.

>>> decision = compare_unpaired(800, 1000, 600, 1000, margin=0.0, confidence=0.95,
...                             min_rows=100, max_rows=5000)
>>> decision.verdict, decision.reason
('RollBack', 'Worse')
>>> compare_unpaired(900, 1000, 950, 1000, margin=0.0, confidence=0.95, min_rows=100,
...                  max_rows=5000).verdict
'Promote'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

__all__ = [
    "CanaryDecision",
    "CanaryVerdict",
    "compare_unpaired",
    "restricted_proportions",
    "score_statistic",
]

CanaryVerdict = Literal["Promote", "RollBack", "Wait"]
#: ``Better``: shown better by the margin; ``Worse``: shown worse; ``NotBetter``: the row budget
#: is spent without either; ``NotEnoughLabels``: still collecting.
CanaryReason = Literal["Better", "Worse", "NotBetter", "NotEnoughLabels", "Undecided"]


@dataclass(frozen=True)
class CanaryDecision:
    """The canary's verdict and the numbers behind it."""

    verdict: CanaryVerdict
    reason: CanaryReason
    serving_rows: int
    candidate_rows: int
    serving_accuracy: float | None
    candidate_accuracy: float | None
    p_better: float | None
    p_worse: float | None
    margin: float
    confidence: float

    def summary(self) -> str:
        """One sentence for an Event or a condition message."""
        if self.serving_accuracy is None or self.candidate_accuracy is None:
            return (
                f"{self.candidate_rows} labeled rows of the candidate and {self.serving_rows} of "
                "the serving model, too few to judge"
            )
        numbers = (
            f"candidate accuracy {self.candidate_accuracy:.4f} on {self.candidate_rows} labeled "
            f"rows vs serving {self.serving_accuracy:.4f} on {self.serving_rows}"
        )
        what = {
            "Better": f"better by more than {self.margin:g} at confidence {self.confidence:g}",
            "Worse": f"worse at confidence {self.confidence:g}",
            "NotBetter": "not shown better within the row budget",
            "NotEnoughLabels": "too few labeled rows to judge",
            "Undecided": "not decided yet",
        }[self.reason]
        return f"{numbers}: {what} (p_better={self.p_better:.3g}, p_worse={self.p_worse:.3g})"


def compare_unpaired(
    serving_correct: int,
    serving_rows: int,
    candidate_correct: int,
    candidate_rows: int,
    *,
    margin: float,
    confidence: float,
    min_rows: int,
    max_rows: int,
) -> CanaryDecision:
    """Judge a canary from each model's correct and labeled row counts (module docstring)."""
    if not 0.0 <= margin < 1.0:
        raise ValueError("margin must be in [0, 1)")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be in (0, 1)")
    if not 0 <= serving_correct <= serving_rows or not 0 <= candidate_correct <= candidate_rows:
        raise ValueError("correct rows must be between 0 and the labeled rows")
    if min(serving_rows, candidate_rows) < max(min_rows, 1):
        return CanaryDecision(
            "Wait", "NotEnoughLabels", serving_rows, candidate_rows, None, None, None, None,
            margin, confidence,
        )  # fmt: skip
    p_s = serving_correct / serving_rows
    p_c = candidate_correct / candidate_rows
    normal = NormalDist()
    counts = (candidate_correct, candidate_rows, serving_correct, serving_rows)
    better = score_statistic(*counts, margin)
    equal = score_statistic(*counts, 0.0)
    p_better = 1.0 - normal.cdf(better)
    p_worse = normal.cdf(equal)
    alpha = 1.0 - confidence
    verdict: CanaryVerdict = "Wait"
    reason: CanaryReason = "Undecided"
    if p_better <= alpha:
        verdict, reason = "Promote", "Better"
    elif p_worse <= alpha:
        verdict, reason = "RollBack", "Worse"
    elif min(serving_rows, candidate_rows) >= max_rows:
        verdict, reason = "RollBack", "NotBetter"
    return CanaryDecision(
        verdict, reason, serving_rows, candidate_rows, p_s, p_c, p_better, p_worse, margin,
        confidence,
    )  # fmt: skip


def score_statistic(k_c: int, n_c: int, k_s: int, n_s: int, margin: float) -> float:
    """Farrington-Manning's ``Z`` for ``H0: p_c - p_s = margin`` (0.0 when it is undefined).

    >>> round(score_statistic(60, 100, 50, 100, 0.0), 4)  # pooled 0.55: 0.1 / sqrt(0.4950/100)
    1.4213
    """
    p_c, p_s = k_c / n_c, k_s / n_s
    r_c, r_s = restricted_proportions(k_c, n_c, k_s, n_s, margin)
    variance = r_c * (1.0 - r_c) / n_c + r_s * (1.0 - r_s) / n_s
    if variance <= 0.0:
        return 0.0
    return (p_c - p_s - margin) / math.sqrt(variance)


def restricted_proportions(
    k_c: int, n_c: int, k_s: int, n_s: int, margin: float
) -> tuple[float, float]:
    """The maximum-likelihood ``(p_c, p_s)`` subject to ``p_c - p_s = margin``.

    The log-likelihood in ``p_s`` is concave on ``(0, 1 - margin)``; its derivative falls from
    positive to negative, so 200 bisection steps find its root to machine precision.

    >>> restricted_proportions(60, 100, 50, 100, 0.0)
    (0.55, 0.55)
    """
    if margin == 0.0:
        pooled = (k_c + k_s) / (n_c + n_s)
        return pooled, pooled

    def slope(p_s: float) -> float:
        p_c = p_s + margin
        return k_c / p_c - (n_c - k_c) / (1.0 - p_c) + k_s / p_s - (n_s - k_s) / (1.0 - p_s)

    low, high = 1e-12, 1.0 - margin - 1e-12
    for _ in range(200):
        middle = (low + high) / 2.0
        if slope(middle) > 0.0:
            low = middle
        else:
            high = middle
    p_s = (low + high) / 2.0
    return p_s + margin, p_s
