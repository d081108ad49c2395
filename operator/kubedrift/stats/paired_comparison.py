"""The promotion gate: does a retrained candidate beat the serving model on the same rows?

Both models are scored on the same held-out labeled rows, which the candidate never trained
on, so the comparison is *paired*: only the rows where exactly one of them is right carry
information. With ``n`` held-out rows, ``b`` rows only the candidate gets right and ``c`` rows
only the serving model gets right, the improvement in accuracy is ``(b - c) / n``.

The candidate is promoted when the one-sided hypothesis "the candidate's accuracy exceeds the
serving model's by more than ``margin``" holds at ``confidence``, i.e. when
``H0: delta <= margin`` is rejected at level ``1 - confidence``:

- ``margin == 0``: the exact one-sided McNemar test. Given ``m = b + c`` discordant rows,
  ``b`` is Binomial(m, 1/2) under H0 and the p-value is ``P(B >= b)``, computed with exact
  integer arithmetic.
- ``margin > 0``: Tango's (1998) score test for a difference of paired proportions, with the
  variance at the restricted maximum-likelihood estimate under ``delta = margin``; at
  ``margin = 0`` its statistic is McNemar's ``(b - c) / sqrt(b + c)``. It is asymptotic
  (normal), so the p-value is approximate.

Fewer than ``min_held_out`` rows is its own outcome, ``NotEnoughHeldOutLabels``: never a
promotion, never a silent pass.

>>> decision = compare_paired([True] * 60 + [False] * 40, [True] * 90 + [False] * 10,
...                           margin=0.0, confidence=0.95, min_held_out=50)
>>> decision.promote, decision.reason, decision.candidate_only, decision.serving_only
(True, 'Better', 30, 0)
>>> decision.p_value == 2.0**-30  # b = 30 of m = 30 discordant rows: P(B >= 30) = 1/2^30
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist
from typing import Literal

__all__ = [
    "GateDecision",
    "GateReason",
    "compare_paired",
    "exact_binomial_upper_tail",
    "tango_upper_p_value",
]

#: ``Better``: promoted; ``NotBetter``: the evidence does not show the margin at the
#: confidence; ``NotEnoughHeldOutLabels``: too few held-out rows to judge.
GateReason = Literal["Better", "NotBetter", "NotEnoughHeldOutLabels"]
GateTest = Literal["exact-mcnemar", "tango-score"]


@dataclass(frozen=True)
class GateDecision:
    """The gate's verdict and the numbers behind it."""

    promote: bool
    reason: GateReason
    held_out: int
    serving_accuracy: float | None
    candidate_accuracy: float | None
    candidate_only: int
    serving_only: int
    margin: float
    confidence: float
    test: GateTest
    p_value: float | None
    min_held_out: int

    @property
    def improvement(self) -> float | None:
        """Observed candidate accuracy minus serving accuracy on the held-out rows."""
        if self.held_out == 0:
            return None
        return (self.candidate_only - self.serving_only) / self.held_out

    def summary(self) -> str:
        """One sentence for an Event or a condition message."""
        if self.reason == "NotEnoughHeldOutLabels":
            return (
                f"{self.held_out} held-out labeled rows, fewer than the {self.min_held_out} needed"
            )
        assert self.serving_accuracy is not None and self.candidate_accuracy is not None
        verdict = "beats" if self.promote else "does not beat"
        return (
            f"candidate accuracy {self.candidate_accuracy:.4f} vs serving "
            f"{self.serving_accuracy:.4f} on {self.held_out} held-out rows "
            f"({self.candidate_only} only the candidate got right, {self.serving_only} only the "
            f"serving model): {verdict} the serving model by more than {self.margin:g} at "
            f"confidence {self.confidence:g} ({self.test} p={self.p_value:.3g})"
        )


def compare_paired(
    serving: Sequence[bool],
    candidate: Sequence[bool],
    *,
    margin: float,
    confidence: float,
    min_held_out: int,
) -> GateDecision:
    """Judge the candidate from per-row correctness of both models on the same held-out rows.

    ``serving[i]`` and ``candidate[i]`` say whether each model predicted row ``i`` right.
    """
    if len(serving) != len(candidate):
        raise ValueError("serving and candidate must score the same rows")
    if not 0.0 <= margin < 1.0:
        raise ValueError("margin must be in [0, 1)")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be in (0, 1)")
    n = len(serving)
    b = sum(1 for s, c in zip(serving, candidate, strict=True) if c and not s)
    c_only = sum(1 for s, c in zip(serving, candidate, strict=True) if s and not c)
    test: GateTest = "exact-mcnemar" if margin == 0.0 else "tango-score"
    if n < min_held_out or n == 0:
        return GateDecision(
            promote=False,
            reason="NotEnoughHeldOutLabels",
            held_out=n,
            serving_accuracy=sum(serving) / n if n else None,
            candidate_accuracy=sum(candidate) / n if n else None,
            candidate_only=b,
            serving_only=c_only,
            margin=margin,
            confidence=confidence,
            test=test,
            p_value=None,
            min_held_out=min_held_out,
        )
    if margin == 0.0:
        p_value = exact_binomial_upper_tail(b, b + c_only)
    else:
        p_value = tango_upper_p_value(b, c_only, n, margin)
    promote = p_value <= 1.0 - confidence
    return GateDecision(
        promote=promote,
        reason="Better" if promote else "NotBetter",
        held_out=n,
        serving_accuracy=sum(serving) / n,
        candidate_accuracy=sum(candidate) / n,
        candidate_only=b,
        serving_only=c_only,
        margin=margin,
        confidence=confidence,
        test=test,
        p_value=p_value,
        min_held_out=min_held_out,
    )


def exact_binomial_upper_tail(successes: int, trials: int) -> float:
    """``P(B >= successes)`` for ``B ~ Binomial(trials, 1/2)``, exactly (1.0 when ``trials`` is 0).

    >>> exact_binomial_upper_tail(9, 10)
    0.0107421875
    """
    if trials == 0:
        return 1.0
    tail = sum(math.comb(trials, k) for k in range(successes, trials + 1))
    return float(Fraction(tail, 2**trials))


def tango_upper_p_value(candidate_only: int, serving_only: int, n: int, margin: float) -> float:
    """One-sided p-value of Tango's score test of ``H0: delta <= margin`` (``delta`` the
    candidate's accuracy minus the serving model's).

    Under ``delta = margin`` the restricted maximum-likelihood estimate of the probability that
    only the serving model is right is the positive root ``q`` of
    ``2n q^2 + (margin (2n - b + c) - (b + c)) q - c margin (1 - margin) = 0``, and
    ``Z = (b - c - n margin) / sqrt(n (2q + margin - margin^2))``.
    """
    b, c = candidate_only, serving_only
    linear = margin * (2 * n - b + c) - (b + c)
    q = (-linear + math.sqrt(linear * linear + 8 * n * c * margin * (1 - margin))) / (4 * n)
    variance = n * (2 * q + margin - margin * margin)
    if variance <= 0.0:
        return 1.0
    z = (b - c - n * margin) / math.sqrt(variance)
    return 1.0 - NormalDist().cdf(z)
