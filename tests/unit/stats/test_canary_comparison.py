"""The canary's verdict on two independent samples of labeled rows (stats.unpaired_comparison):
an anytime-valid sequential comparison, judged again at every look without inflating its errors."""

from __future__ import annotations

import math
import random
from statistics import NormalDist

import pytest

from kubedrift.stats.unpaired_comparison import (
    compare_unpaired,
    log_e_value,
    restricted_proportions,
)


def judge(k_s: int, n_s: int, k_c: int, n_c: int, margin: float = 0.0) -> str:
    decision = compare_unpaired(
        k_s, n_s, k_c, n_c, margin=margin, confidence=0.95, min_rows=100, max_rows=2000
    )
    return f"{decision.verdict}/{decision.reason}"


def first_decision(
    seed: int, p_s: float, p_c: float, *, rows: int = 2000, margin: float = 0.0
) -> tuple[int, str] | None:
    """A seeded canary: each model answers one row per step (right with probability ``p_s``,
    ``p_c``), the operator looks every 10 rows; the row count and verdict of the first decision."""
    rng = random.Random(seed)
    k_s = k_c = 0
    for n in range(1, rows + 1):
        k_s += rng.random() < p_s
        k_c += rng.random() < p_c
        if n % 10 == 0:
            decision = compare_unpaired(
                k_s, n, k_c, n, margin=margin, confidence=0.95, min_rows=50, max_rows=rows
            )
            if decision.verdict != "Wait":
                return n, f"{decision.verdict}/{decision.reason}"
    return None


@pytest.mark.parametrize(
    ("k_s", "n_s", "k_c", "n_c", "expected"),
    [
        (80, 99, 90, 100, "Wait/NotEnoughLabels"),  # the serving model has too few rows
        (800, 1000, 500, 1000, "RollBack/Worse"),  # a bad candidate (shuffled labels)
        (800, 1000, 900, 1000, "Promote/Better"),
        (800, 1000, 805, 1000, "Wait/Undecided"),  # too close to call: keep collecting
        (1600, 2000, 1610, 2000, "RollBack/NotBetter"),  # the row budget is spent
    ],
)
def test_verdicts(k_s: int, n_s: int, k_c: int, n_c: int, expected: str) -> None:
    assert judge(k_s, n_s, k_c, n_c) == expected


@pytest.mark.parametrize(
    ("seed", "p_s", "p_c", "margin", "expected"),
    [
        (1, 0.8, 0.5, 0.0, (80, "RollBack/Worse")),  # shuffled labels: out after 80 rows each
        (2, 0.8, 0.95, 0.0, (170, "Promote/Better")),
        (4, 0.8, 0.9, 0.02, (570, "Promote/Better")),  # +10 points shown above a 2-point margin
        (3, 0.8, 0.8, 0.0, (2000, "RollBack/NotBetter")),  # an equal model never proves itself
    ],
)
def test_seeded_canaries_decide_at_these_rows(
    seed: int, p_s: float, p_c: float, margin: float, expected: tuple[int, str]
) -> None:
    assert first_decision(seed, p_s, p_c, margin=margin) == expected


def test_a_margin_asks_for_more_than_any_gain() -> None:
    # +10 points on 1000 rows each: shown at margin 0, not at margin 0.08.
    assert judge(800, 1000, 900, 1000) == "Promote/Better"
    assert judge(800, 1000, 900, 1000, margin=0.08) == "Wait/Undecided"


def test_looking_every_round_does_not_inflate_the_errors_of_equal_models() -> None:
    # 300 seeded canaries of two equal models (accuracy 0.8), looked at every 10 rows from 50
    # to 2000 rows each (196 looks; a budget never reached). Ville's inequality bounds each
    # wrong verdict (promoted, or rolled back as worse) by 0.05 over all looks, so wrong
    # canaries are at most binomial(300, 0.1): above 45 has probability below 0.005.
    # The fixed-sample one-sided z test at the same level, repeated at each look, is wrong
    # on far more of the same streams (its error grows with the looks).
    rng = random.Random(11)
    z = NormalDist().inv_cdf(0.95)
    anytime = repeated = 0
    for _ in range(300):
        k_s = k_c = 0
        decided = naive = False
        for n in range(1, 2001):
            k_s += rng.random() < 0.8
            k_c += rng.random() < 0.8
            if n % 10 or n < 50:
                continue
            pooled = (k_s + k_c) / (2 * n)
            spread = math.sqrt(2 * pooled * (1 - pooled) / n)
            naive = naive or abs(k_c - k_s) / n > z * spread
            if not decided:
                verdict = compare_unpaired(
                    k_s, n, k_c, n, margin=0.0, confidence=0.95, min_rows=50, max_rows=100_000
                ).verdict
                decided = verdict != "Wait"
        anytime += decided
        repeated += naive
    assert anytime <= 45
    assert repeated > 100


def test_the_e_value_is_at_most_one_when_the_counts_agree_with_the_null() -> None:
    assert log_e_value(53, 80, 80, 80, margin=0.0, worse=False) < 0.0  # candidate worse
    assert log_e_value(80, 80, 53, 80, margin=0.0, worse=True) < 0.0  # candidate better
    assert log_e_value(80, 80, 53, 80, margin=0.0, worse=False) == pytest.approx(16.2896, abs=1e-4)


def test_the_anytime_p_values_are_the_inverse_e_values() -> None:
    decision = compare_unpaired(
        53, 80, 80, 80, margin=0.0, confidence=0.95, min_rows=50, max_rows=1000
    )
    assert decision.p_better == pytest.approx(math.exp(-16.2896), rel=1e-4)
    assert decision.p_worse == 1.0


@pytest.mark.parametrize(("k_c", "n_c", "k_s", "n_s"), [(60, 100, 50, 100), (3, 40, 35, 90)])
@pytest.mark.parametrize("margin", [0.02, 0.1])
def test_restricted_proportions_maximise_the_likelihood_on_the_constraint(
    k_c: int, n_c: int, k_s: int, n_s: int, margin: float
) -> None:
    def log_likelihood(p_s: float) -> float:
        p_c = p_s + margin
        return (
            k_c * math.log(p_c)
            + (n_c - k_c) * math.log(1 - p_c)
            + k_s * math.log(p_s)
            + (n_s - k_s) * math.log(1 - p_s)
        )

    r_c, r_s = restricted_proportions(k_c, n_c, k_s, n_s, margin)
    grid = [i / 10_000 for i in range(1, int((1 - margin) * 10_000))]

    assert r_c - r_s == pytest.approx(margin, abs=1e-12)
    # No point of a 1e-4 grid beats it (the grid's best is within a step of it).
    assert log_likelihood(r_s) >= max(log_likelihood(p) for p in grid)


def test_counts_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="correct rows"):
        compare_unpaired(11, 10, 5, 10, margin=0.0, confidence=0.95, min_rows=1, max_rows=10)
