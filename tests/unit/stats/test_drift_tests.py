"""Drift tests agree with scipy on seeded data; PSI's smoothing and the effect sizes are exact."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from kubedrift.stats import drift_tests
from kubedrift.stats.binning import numeric_bin_counts, quantile_edges

RNG = np.random.default_rng(2024)
REFERENCE = RNG.normal(size=700)
CURRENT = RNG.normal(0.3, 1.2, size=450)
EDGES = quantile_edges(REFERENCE, 10)
REF_COUNTS = numeric_bin_counts(REFERENCE, EDGES)
CUR_COUNTS = numeric_bin_counts(CURRENT, EDGES)


def test_ks_statistic_and_p_value_equal_scipy() -> None:
    expected = stats.ks_2samp(REFERENCE, CURRENT)
    outcome = drift_tests.ks(REFERENCE, CURRENT)
    assert outcome.statistic == expected.statistic
    assert outcome.p_value == expected.pvalue
    assert outcome.effect == expected.statistic


def test_wasserstein_equals_scipy_and_is_normalized_by_the_scale() -> None:
    expected = stats.wasserstein_distance(REFERENCE, CURRENT)
    assert drift_tests.wasserstein_distance(REFERENCE, CURRENT) == pytest.approx(
        expected, rel=1e-12
    )
    outcome = drift_tests.wasserstein(REFERENCE, CURRENT, scale=2.0)
    assert outcome.statistic == pytest.approx(expected / 2.0, rel=1e-12)


def test_wasserstein_of_a_shift_is_the_shift() -> None:
    assert drift_tests.wasserstein_distance(REFERENCE, REFERENCE + 0.25) == pytest.approx(0.25)


def test_chi_square_equals_scipy_contingency_without_yates() -> None:
    outcome = drift_tests.chi2(REF_COUNTS, CUR_COUNTS)
    expected = stats.chi2_contingency(np.vstack([REF_COUNTS, CUR_COUNTS]), correction=False)
    assert outcome.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert outcome.p_value == pytest.approx(expected.pvalue, rel=1e-9)


def test_chi_square_drops_bins_empty_on_both_sides() -> None:
    reference, current = np.array([30, 0, 20, 50]), np.array([10, 0, 25, 5])
    expected = stats.chi2_contingency(np.array([[30, 20, 50], [10, 25, 5]]), correction=False)
    assert drift_tests.chi2(reference, current).statistic == pytest.approx(expected.statistic)


def test_chi_square_effect_is_total_variation_distance() -> None:
    outcome = drift_tests.chi2(np.array([50, 50]), np.array([70, 30]))
    assert outcome.effect == pytest.approx(0.2)


def test_jensen_shannon_equals_scipy_on_bin_probabilities() -> None:
    p, q = REF_COUNTS / REF_COUNTS.sum(), CUR_COUNTS / CUR_COUNTS.sum()
    expected = distance.jensenshannon(p, q, base=2)
    assert drift_tests.jensen_shannon(REF_COUNTS, CUR_COUNTS).statistic == pytest.approx(
        expected, rel=1e-12
    )


def test_jensen_shannon_handles_empty_bins_like_scipy() -> None:
    reference, current = np.array([5, 0, 5]), np.array([0, 4, 6])
    expected = distance.jensenshannon(reference / 10, current / 10, base=2)
    assert drift_tests.jensen_shannon(reference, current).statistic == pytest.approx(expected)


def test_hellinger_formula() -> None:
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    expected = np.sqrt(1 - (np.sqrt(0.45) + np.sqrt(0.05)))
    assert drift_tests.hellinger(np.array([5, 5]), np.array([9, 1])).statistic == pytest.approx(
        expected
    )
    assert drift_tests.hellinger(np.array([1, 0]), np.array([0, 1])).statistic == 1.0
    del p, q


def test_psi_formula_with_half_count_smoothing_of_empty_bins() -> None:
    reference, current = np.array([40, 60, 0]), np.array([50, 30, 20])
    p = np.array([40.5, 60.5, 0.5]) / 101.5
    q = np.array([50.5, 30.5, 20.5]) / 101.5
    assert drift_tests.psi(reference, current).statistic == pytest.approx(
        float(np.sum((q - p) * np.log(q / p))), rel=1e-12
    )


def test_psi_drops_bins_empty_on_both_sides() -> None:
    with_empty = drift_tests.psi(np.array([40, 0, 60]), np.array([60, 0, 40])).statistic
    without = drift_tests.psi(np.array([40, 60]), np.array([60, 40])).statistic
    assert with_empty == without


def test_psi_of_equal_proportions_is_near_zero_and_grows_with_the_shift() -> None:
    same = drift_tests.psi(np.array([300, 700]), np.array([3000, 7000])).statistic
    shifted = drift_tests.psi(np.array([300, 700]), np.array([5000, 5000])).statistic
    assert same == pytest.approx(0.0, abs=1e-5)
    assert shifted == pytest.approx(0.2 * np.log(0.5 / 0.3) + 0.2 * np.log(0.7 / 0.5), rel=1e-2)


def test_sample_methods_need_samples() -> None:
    with pytest.raises(ValueError, match="needs raw numeric samples"):
        drift_tests.run_test("ks", reference_counts=REF_COUNTS, current_counts=CUR_COUNTS)
