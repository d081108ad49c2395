"""The canary's verdict: is a candidate serving part of live traffic better than the serving model?

In a canary the two models answer *different* requests, so their labeled rows are independent
samples, not pairs: the serving model got ``k_s`` of ``n_s`` rows right, the candidate ``k_c`` of
``n_c``. The operator looks again every round, so the test must stay valid however often it
looks and whenever it stops: each hypothesis is judged by an **e-process**, a mixture likelihood
ratio against the null's best fit (sequential universal inference, Wasserman, Ramdas and
Balakrishnan 2020)::

    E = m(k_c, n_c) * m(k_s, n_s) / sup_{(p_c, p_s) in H0} L(p_c, p_s)
    m(k, n) = B(k + 1/2, n - k + 1/2) / B(1/2, 1/2)     (Bernoulli likelihood mixed over Jeffreys'
                                                          Beta(1/2, 1/2) prior: beta-binomial)
    L(p_c, p_s) = p_c^k_c (1 - p_c)^(n_c - k_c) p_s^k_s (1 - p_s)^(n_s - k_s)

For the true ``(p_c, p_s)`` in ``H0`` the denominator is at least ``L(p_c, p_s)``, and
``m * m / L(p_c, p_s)`` is a nonnegative martingale with mean 1 over the rows in the order they
arrive (whichever model a row goes to, as long as the split does not look at the labels), so by
Ville's inequality ``P(E >= 1/alpha at any look) <= alpha``: judging every round, and stopping at
the first decision, keeps each error at ``alpha = 1 - confidence``. ``E`` depends on the counts
only, so the operator needs no state between rounds. ``min(1, 1/E)`` is an anytime-valid p-value.

- **promote** when ``E_better >= 1/alpha``, ``H0: p_c - p_s <= margin`` (its best fit: the
  unrestricted proportions when they satisfy it, else the maximum-likelihood pair on
  ``p_c - p_s = margin``, :func:`restricted_proportions`);
- **roll back** as soon as ``E_worse >= 1/alpha``, the candidate shown *worse*:
  ``H0: p_c >= p_s`` (best fit on ``p_c = p_s``: the pooled proportion);
- **roll back** too when both models have ``max_rows`` labeled rows and neither was shown (the
  candidate did not prove itself on the budget it was given: never a silent promotion);
- otherwise **wait**, also while either model has fewer than ``min_rows`` labeled rows.

>>> decision = compare_unpaired(800, 1000, 600, 1000, margin=0.0, confidence=0.95,
...                             min_rows=100, max_rows=5000)
>>> decision.verdict, decision.reason
('RollBack', 'Worse')
>>> compare_unpaired(800, 1000, 900, 1000, margin=0.0, confidence=0.95, min_rows=100,
...                  max_rows=5000).verdict
'Promote'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CanaryDecision",
    "CanaryVerdict",
    "compare_unpaired",
    "log_e_value",
    "restricted_proportions",
]

CanaryVerdict = Literal["Promote", "RollBack", "Wait"]
#: ``Better``: shown better by the margin; ``Worse``: shown worse; ``NotBetter``: the row budget
#: is spent without either; ``NotEnoughLabels``: still collecting.
CanaryReason = Literal["Better", "Worse", "NotBetter", "NotEnoughLabels", "Undecided"]

#: ``status.retraining.gate.test`` of a canary's verdict.
TEST_NAME = "mixture-likelihood-ratio"


@dataclass(frozen=True)
class CanaryDecision:
    """The canary's verdict and the numbers behind it (``p_better``, ``p_worse``: anytime-valid
    p-values, ``min(1, 1/E)`` of each e-process)."""

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
        return (
            f"{numbers}: {what} (anytime-valid p_better={self.p_better:.3g}, "
            f"p_worse={self.p_worse:.3g})"
        )


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
    counts = (candidate_correct, candidate_rows, serving_correct, serving_rows)
    log_better = log_e_value(*counts, margin=margin, worse=False)
    log_worse = log_e_value(*counts, margin=0.0, worse=True)
    p_better = min(1.0, math.exp(-log_better))
    p_worse = min(1.0, math.exp(-log_worse))
    threshold = -math.log(1.0 - confidence)  # log(1 / alpha)
    verdict: CanaryVerdict = "Wait"
    reason: CanaryReason = "Undecided"
    if log_better >= threshold:
        verdict, reason = "Promote", "Better"
    elif log_worse >= threshold:
        verdict, reason = "RollBack", "Worse"
    elif min(serving_rows, candidate_rows) >= max_rows:
        verdict, reason = "RollBack", "NotBetter"
    return CanaryDecision(
        verdict, reason, serving_rows, candidate_rows, serving_correct / serving_rows,
        candidate_correct / candidate_rows, p_better, p_worse, margin, confidence,
    )  # fmt: skip


def log_e_value(k_c: int, n_c: int, k_s: int, n_s: int, *, margin: float, worse: bool) -> float:
    """``log E`` against ``H0: p_c - p_s <= margin`` (``worse=False``) or ``H0: p_c >= p_s``
    (``worse=True``, ``margin`` ignored); at most 0 when the observed proportions satisfy
    ``H0`` (a mixture never beats the best fit).

    >>> round(log_e_value(80, 80, 53, 80, margin=0.0, worse=False), 2)
    16.29
    >>> log_e_value(53, 80, 80, 80, margin=0.0, worse=False) < 0.0
    True
    """
    if worse:
        in_null = k_c * n_s >= k_s * n_c  # p̂_c >= p̂_s
        r_c, r_s = restricted_proportions(k_c, n_c, k_s, n_s, 0.0)
    else:
        in_null = k_c / n_c - k_s / n_s <= margin
        r_c, r_s = restricted_proportions(k_c, n_c, k_s, n_s, margin)
    if in_null:
        r_c, r_s = k_c / n_c, k_s / n_s
    best = _log_likelihood(k_c, n_c, r_c) + _log_likelihood(k_s, n_s, r_s)
    return _log_mixture(k_c, n_c) + _log_mixture(k_s, n_s) - best


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


def _log_likelihood(k: int, n: int, p: float) -> float:
    """``log(p^k (1 - p)^(n - k))`` with ``0 log 0 = 0``."""
    hits = k * math.log(p) if k else 0.0
    misses = (n - k) * math.log1p(-p) if n - k else 0.0
    return hits + misses


def _log_mixture(k: int, n: int) -> float:
    """``log m(k, n)``: the likelihood of ``k`` hits in ``n`` ordered rows mixed over
    Beta(1/2, 1/2), ``B(k + 1/2, n - k + 1/2) / B(1/2, 1/2)``."""
    return (
        math.lgamma(k + 0.5) + math.lgamma(n - k + 0.5) - math.lgamma(n + 1.0) - math.log(math.pi)
    )
