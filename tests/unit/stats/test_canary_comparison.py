"""The canary's verdict on two independent samples of labeled rows (stats.unpaired_comparison)."""

from __future__ import annotations

import math
import random

import pytest

from kubedrift.stats.unpaired_comparison import (
    compare_unpaired,
    restricted_proportions,
    score_statistic,
)


def judge(k_s: int, n_s: int, k_c: int, n_c: int, margin: float = 0.0) -> str:
    decision = compare_unpaired(
        k_s, n_s, k_c, n_c, margin=margin, confidence=0.95, min_rows=100, max_rows=2000
    )
    return f"{decision.verdict}/{decision.reason}"


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


def test_a_margin_asks_for_more_than_any_gain() -> None:
    # +5 points on 1000 rows each: shown at margin 0, not at margin 0.04.
    assert judge(800, 1000, 850, 1000) == "Promote/Better"
    assert judge(800, 1000, 850, 1000, margin=0.04) == "Wait/Undecided"


def test_at_margin_zero_the_statistic_is_the_pooled_two_proportion_score() -> None:
    pooled = (60 + 50) / 200
    expected = (0.6 - 0.5) / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))

    assert score_statistic(60, 100, 50, 100, 0.0) == pytest.approx(expected, rel=1e-12)


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


def test_equal_models_are_rolled_back_as_wrongly_worse_at_most_as_often_as_the_level() -> None:
    # Seeded: 400 canaries of two equal models (accuracy 0.8, 500 rows each), one look each.
    # The one-sided level is 0.05; a binomial(400, 0.05) count above 35 has probability < 1e-4.
    rng = random.Random(7)
    worse = 0
    for _ in range(400):
        k_s = sum(rng.random() < 0.8 for _ in range(500))
        k_c = sum(rng.random() < 0.8 for _ in range(500))
        decision = compare_unpaired(
            k_s, 500, k_c, 500, margin=0.0, confidence=0.95, min_rows=100, max_rows=10_000
        )
        worse += decision.reason == "Worse"
    assert worse <= 35


def test_counts_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="correct rows"):
        compare_unpaired(11, 10, 5, 10, margin=0.0, confidence=0.95, min_rows=1, max_rows=10)
