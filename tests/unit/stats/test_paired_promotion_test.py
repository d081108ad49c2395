"""The promotion gate's paired comparison (kubedrift.stats.paired_comparison)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import optimize, stats

from kubedrift.stats.paired_comparison import (
    compare_paired,
    exact_binomial_upper_tail,
    tango_upper_p_value,
)


def rows(both: int, candidate_only: int, serving_only: int, neither: int) -> tuple[list[bool], ...]:
    """Per-row correctness of (serving, candidate) with the given paired counts."""
    serving = [True] * both + [False] * candidate_only + [True] * serving_only + [False] * neither
    candidate = [True] * both + [True] * candidate_only + [False] * serving_only + [False] * neither
    return serving, candidate


def test_exact_tail_is_the_binomial_sum_over_two_to_the_m() -> None:
    assert exact_binomial_upper_tail(9, 10) == float(Fraction(11, 1024))
    assert exact_binomial_upper_tail(0, 7) == 1.0
    assert exact_binomial_upper_tail(0, 0) == 1.0
    assert exact_binomial_upper_tail(30, 40) == stats.binomtest(30, 40, 0.5, "greater").pvalue


def test_only_discordant_rows_decide_at_margin_zero() -> None:
    # 12 rows only the candidate gets right, 2 only the serving model: P(B >= 12 | 14, 1/2)
    # = (C(14,12) + C(14,13) + C(14,14)) / 2^14 = 106 / 16384.
    for both in (0, 500):
        serving, candidate = rows(both, 12, 2, 100)
        decision = compare_paired(serving, candidate, margin=0.0, confidence=0.99, min_held_out=1)
        assert decision.p_value == 106 / 16384
        assert (decision.promote, decision.reason, decision.test) == (
            True,
            "Better",
            "exact-mcnemar",
        )
        assert (decision.candidate_only, decision.serving_only) == (12, 2)


def test_a_candidate_as_good_as_the_serving_model_is_not_promoted() -> None:
    serving, candidate = rows(80, 10, 10, 0)
    decision = compare_paired(serving, candidate, margin=0.0, confidence=0.95, min_held_out=50)
    assert decision.promote is False
    assert decision.reason == "NotBetter"
    assert decision.improvement == 0.0
    assert decision.p_value == exact_binomial_upper_tail(10, 20)


def test_identical_models_have_no_discordant_rows_and_are_not_promoted() -> None:
    serving, candidate = rows(90, 0, 0, 10)
    decision = compare_paired(serving, candidate, margin=0.0, confidence=0.95, min_held_out=50)
    assert (decision.promote, decision.p_value) == (False, 1.0)


def test_too_few_held_out_rows_is_its_own_outcome_never_a_pass() -> None:
    serving, candidate = rows(0, 49, 0, 0)  # overwhelming, but below minHeldOut
    decision = compare_paired(serving, candidate, margin=0.0, confidence=0.95, min_held_out=50)
    assert (decision.promote, decision.reason, decision.p_value) == (
        False,
        "NotEnoughHeldOutLabels",
        None,
    )
    assert decision.summary() == "49 held-out labeled rows, fewer than the 50 needed"
    empty = compare_paired([], [], margin=0.0, confidence=0.95, min_held_out=1)
    assert (empty.reason, empty.serving_accuracy, empty.improvement) == (
        "NotEnoughHeldOutLabels",
        None,
        None,
    )


def test_tango_at_margin_zero_is_mcnemars_z() -> None:
    z = (30 - 10) / math.sqrt(40)
    assert tango_upper_p_value(30, 10, 100, 0.0) == pytest.approx(1 - stats.norm.cdf(z), abs=1e-15)


def test_tango_uses_the_restricted_maximum_likelihood_under_the_margin() -> None:
    # b = 30, c = 10 of n = 100, margin 0.1: maximise the multinomial likelihood of
    # (b, c, rest) with p_b = q + margin, p_c = q numerically and compare the p-value.
    b, c, n, margin = 30, 10, 100, 0.1

    def negative_log_likelihood(q: float) -> float:
        return -(
            b * math.log(q + margin) + c * math.log(q) + (n - b - c) * math.log(1 - 2 * q - margin)
        )

    q = optimize.minimize_scalar(
        negative_log_likelihood,
        bounds=(1e-9, (1 - margin) / 2 - 1e-9),
        method="bounded",
        options={"xatol": 1e-12},
    ).x
    z = (b - c - n * margin) / math.sqrt(n * (2 * q + margin - margin**2))
    assert tango_upper_p_value(b, c, n, margin) == pytest.approx(1 - stats.norm.cdf(z), rel=1e-6)
    assert tango_upper_p_value(b, c, n, margin) == pytest.approx(0.050890167065, rel=1e-9)


def test_a_margin_asks_for_more_than_any_gain() -> None:
    serving, candidate = rows(50, 30, 10, 10)  # observed gain 0.2 of 100 rows
    shown = compare_paired(serving, candidate, margin=0.05, confidence=0.95, min_held_out=50)
    not_shown = compare_paired(serving, candidate, margin=0.1, confidence=0.95, min_held_out=50)
    assert (shown.promote, shown.test) == (True, "tango-score")
    assert (not_shown.promote, not_shown.reason) == (False, "NotBetter")
    assert not_shown.improvement == pytest.approx(0.2)


def test_a_candidate_trained_on_shuffled_labels_is_rejected_with_high_confidence() -> None:
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 2, size=400)
    serving = (rng.random(400) < 0.8).tolist()  # right 80% of the time
    candidate = (rng.integers(0, 2, size=400) == truth).tolist()  # a coin
    decision = compare_paired(serving, candidate, margin=0.0, confidence=0.95, min_held_out=100)
    assert decision.promote is False
    assert decision.p_value is not None and decision.p_value > 0.999


def test_mismatched_rows_and_bad_settings_are_errors() -> None:
    with pytest.raises(ValueError, match="same rows"):
        compare_paired([True], [], margin=0.0, confidence=0.95, min_held_out=1)
    with pytest.raises(ValueError, match="margin"):
        compare_paired([], [], margin=1.0, confidence=0.95, min_held_out=1)
    with pytest.raises(ValueError, match="confidence"):
        compare_paired([], [], margin=0.0, confidence=1.0, min_held_out=1)
