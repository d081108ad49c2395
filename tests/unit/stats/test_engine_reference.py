"""What a finite reference can vouch for: the confidence sets hold at their stated level, and
an alternative earns evidence only against the whole set."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from kubedrift.stats.binning import numeric_bin_counts, quantile_edges
from kubedrift.stats.engine.reference import (
    kl_radius,
    kl_rows,
    outside_mass_upper_bound,
    projection,
    rate_upper_bound,
)


@pytest.mark.parametrize(("bins", "m"), [(2, 50), (10, 200), (10, 1000), (30, 500)])
def test_the_kl_ball_covers_the_true_distribution_at_its_level(bins: int, m: int) -> None:
    """2,000 references drawn from a known distribution: the true one lies outside the ball of
    level 5 % at most 5 % of the time (the bound is conservative: far fewer)."""
    rng = np.random.default_rng(bins * m)
    truth = rng.dirichlet(np.ones(bins))
    counts = rng.multinomial(m, truth, size=2000)
    estimates = counts / m
    outside = kl_rows(estimates, np.broadcast_to(truth, estimates.shape)) > kl_radius(bins, m, 0.05)
    assert outside.mean() <= 0.05


def test_quantile_bins_of_the_reference_itself_are_covered_too() -> None:
    """The baseline's numeric bins are quantiles of the same rows they count; the true
    probability of each bin is then a uniform spacing, not a multinomial cell. The ball still
    covers it (2,000 references of 1,000 normal rows, 10 bins)."""
    rng = np.random.default_rng(5)
    normal = NormalDist()
    radius = kl_radius(10, 1000, 0.05)
    misses = 0
    for _ in range(2000):
        sample = rng.normal(size=1000)
        edges = quantile_edges(sample, 10)
        counts = numeric_bin_counts(sample, edges)
        cdf = [0.0, *(normal.cdf(float(e)) for e in edges), 1.0]
        truth = np.diff(cdf)
        estimate = counts / counts.sum()
        misses += bool(kl_rows(estimate[None], truth[None])[0] > radius)
    assert misses / 2000 <= 0.05


def test_the_rate_bound_covers_the_true_rate_at_its_level() -> None:
    rng = np.random.default_rng(11)
    events = rng.binomial(400, 0.15, size=3000)
    bounds = np.array([rate_upper_bound(int(e), 400, 0.05) for e in events])
    assert (bounds < 0.15).mean() <= 0.05
    assert rate_upper_bound(0, 0, 0.05) == 1.0


def test_the_out_of_range_mass_bound_is_the_exact_quantile_for_any_continuous_law() -> None:
    """The mass outside the range of m draws is that of m uniforms after the probability
    integral transform, whatever the continuous law: its upper 5 % quantile is exceeded 5 % of
    the time (20,000 draws of m = 500; three standard errors)."""
    rng = np.random.default_rng(12)
    bound = outside_mass_upper_bound(500, 0.05)
    uniform = rng.random((20_000, 500))
    outside = uniform.min(axis=1) + 1 - uniform.max(axis=1)
    assert abs((outside > bound).mean() - 0.05) <= 3 * math.sqrt(0.05 * 0.95 / 20_000)


def test_projection_lies_on_the_ball_and_is_a_mixture_with_the_reference() -> None:
    reference = np.array([0.25, 0.25, 0.25, 0.25])
    q = np.array([0.7, 0.1, 0.1, 0.1])
    projected = projection(q, reference, np.array(0.01))
    assert kl_rows(reference, projected) == pytest.approx(0.01, abs=1e-8)
    t = (projected[0] - 0.25) / (0.7 - 0.25)
    assert projected == pytest.approx(t * q + (1 - t) * reference)


def test_an_alternative_inside_the_ball_is_its_own_projection() -> None:
    reference = np.array([0.5, 0.5])
    q = np.array([0.51, 0.49])
    assert projection(q, reference, np.array(0.01)) == pytest.approx(q)


def test_the_likelihood_ratio_against_the_projection_is_an_e_value_on_the_whole_ball() -> None:
    """E_p[q / p*] <= 1 for every p in the ball, sampled on its boundary and inside."""
    rng = np.random.default_rng(3)
    reference = rng.dirichlet(np.ones(6) * 3)
    q = rng.dirichlet(np.ones(6))
    radius = 0.02
    projected = projection(q, reference, np.array(radius))
    worst = 0.0
    for _ in range(5000):
        candidate = rng.dirichlet(reference * 200)
        if kl_rows(reference, candidate) > radius:
            continue
        worst = max(worst, float(candidate @ (q / projected)))
    assert 0.9 < worst <= 1 + 1e-6
    assert math.isfinite(worst)
