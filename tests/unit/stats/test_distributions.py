"""The chi-square tail and normal quantile agree with scipy.special on a grid, edges exact."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from scipy import special

from kubedrift.stats import distributions
from kubedrift.stats.distributions import chi_square_sf, normal_quantile

#: Largest relative difference allowed: the closed form sums at most df/2 exactly rounded terms,
#: each the exponential of a logarithm of size up to x/2, so its error grows with the statistic.
RELATIVE = 1e-11


@pytest.mark.parametrize("df", [1, 2, 3, 4, 9, 10, 49, 50, 255, 256])
def test_chi_square_tail_equals_scipy_chdtrc(df: int) -> None:
    statistics = np.concatenate([np.geomspace(1e-6, 3000.0, 200), [df - 0.5, df, df + 0.5]])
    expected = special.chdtrc(df, statistics)
    found = np.array([chi_square_sf(float(x), df) for x in statistics])
    assert found == pytest.approx(expected, rel=RELATIVE, abs=1e-300)


def test_chi_square_tail_edges() -> None:
    assert chi_square_sf(0.0, 3) == 1.0
    assert chi_square_sf(-1.0, 3) == 1.0
    assert chi_square_sf(math.inf, 3) == 0.0
    assert math.isnan(chi_square_sf(math.nan, 3))
    assert chi_square_sf(2.0, 2) == math.exp(-1.0)  # df 2 is the exponential distribution


def test_chi_square_tail_needs_positive_degrees_of_freedom() -> None:
    with pytest.raises(ValueError, match="positive integer"):
        chi_square_sf(1.0, 0)


@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999999])
def test_normal_quantile_equals_scipy_ndtri(confidence: float) -> None:
    probability = 0.5 + confidence / 2
    assert normal_quantile(probability) == pytest.approx(special.ndtri(probability), rel=1e-14)


def test_docstring_examples_hold() -> None:
    result = doctest.testmod(distributions)
    assert (result.attempted, result.failed) == (3, 0)
