"""The KS test equals scipy.stats.ks_2samp on every path, and the usual paths leave scipy.stats
(and scipy.special) unimported: the operator's memory budget depends on it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from kubedrift.stats.kolmogorov_smirnov import MAX_EXACT_SIZE, equal_sizes_tail, two_sample_ks

RNG = np.random.default_rng(7)


def _assert_equals_scipy(reference: np.ndarray, current: np.ndarray) -> None:
    expected = stats.ks_2samp(reference, current)
    assert two_sample_ks(reference, current) == (expected.statistic, expected.pvalue)


@pytest.mark.parametrize(
    ("n1", "n2"), [(700, 450), (450, 700), (500, 2000), (1000, 999), (3, 5), (1, 10_000)]
)
@pytest.mark.parametrize("shift", [0.0, 0.2, 3.0])
def test_unequal_sizes_equal_scipy(n1: int, n2: int, shift: float) -> None:
    _assert_equals_scipy(RNG.normal(size=n1), RNG.normal(shift, 1.0, size=n2))


@pytest.mark.parametrize("n", [1, 2, 37, 1000, MAX_EXACT_SIZE])
@pytest.mark.parametrize("shift", [0.0, 0.2, 3.0])
def test_equal_sizes_equal_scipy(n: int, shift: float) -> None:
    _assert_equals_scipy(RNG.normal(size=n), RNG.normal(shift, 1.0, size=n))


def test_tied_values_give_scipy_lattice_statistic() -> None:
    reference = RNG.integers(0, 5, size=600).astype(np.float64)
    current = RNG.integers(1, 6, size=400).astype(np.float64)
    _assert_equals_scipy(reference, current)


def test_identical_samples_have_statistic_zero_and_p_value_one() -> None:
    sample = RNG.normal(size=300)
    assert two_sample_ks(sample, sample.copy()) == (0.0, 1.0)


def test_equal_sizes_tail_matches_a_hand_count() -> None:
    # Two samples of 2: the C(4, 2) = 6 equally likely orderings of x x y y. Every ordering has
    # a CDF gap of at least 1/2 (after its first value); only xxyy and yyxx reach a gap of 1.
    assert equal_sizes_tail(2, 1) == 1.0
    assert equal_sizes_tail(2, 2) == pytest.approx(2 / 6, rel=1e-15)


def test_samples_above_the_exact_limit_equal_scipy_asymptotic_path() -> None:
    _assert_equals_scipy(RNG.normal(size=MAX_EXACT_SIZE + 1), RNG.normal(0.05, 1.0, size=800))


def test_nan_propagates_like_scipy() -> None:
    reference = RNG.normal(size=50)
    reference[3] = np.nan
    statistic, p_value = two_sample_ks(reference, RNG.normal(size=40))
    expected = stats.ks_2samp(reference, RNG.normal(size=40))
    assert np.isnan(statistic) and np.isnan(p_value)
    assert np.isnan(expected.statistic) and np.isnan(expected.pvalue)


def test_rounding_above_one_switches_to_the_asymptotic_path_like_scipy() -> None:
    # Equal sizes and a gap of a few lattice steps: the closed form rounds to just above 1, and
    # scipy warns and answers from the asymptotic distribution; so does this module (through
    # scipy itself, the one path where it imports scipy.stats for equal sizes).
    assert equal_sizes_tail(1000, 1) > 1.0
    reference = np.repeat([0.0, 1.0], [500, 500])
    current = np.repeat([0.0, 1.0], [501, 499])
    with pytest.warns(RuntimeWarning, match="Exact calculation unsuccessful"):
        expected = stats.ks_2samp(reference, current)
    with pytest.warns(RuntimeWarning, match="Exact calculation unsuccessful"):
        assert two_sample_ks(reference, current) == (expected.statistic, expected.pvalue)


def test_operator_evaluation_imports_neither_scipy_stats_nor_special() -> None:
    probe = (
        "import json, sys\n"
        "import numpy as np\n"
        "import kubedrift.controller.operator_main\n"
        "from kubedrift.stats.baseline import build_baseline\n"
        "from kubedrift.stats.evaluation import evaluate\n"
        "from kubedrift.stats.settings import EvaluationSettings\n"
        "from kubedrift.stats.window import Window\n"
        "rng = np.random.default_rng(1)\n"
        "baseline = build_baseline({f'f{i}': rng.normal(size=2000) for i in range(3)})\n"
        "window = Window(baseline, seed=2, start=0.0)\n"
        "window.update({f'f{i}': rng.normal(0.3, 1, size=700) for i in range(3)}, now=1.0)\n"
        "result = evaluate(baseline, window, EvaluationSettings())\n"
        "methods = sorted({f.method for f in result.features})\n"
        "heavy = [m for m in ('scipy.stats', 'scipy.special') if m in sys.modules]\n"
        "print(json.dumps([methods, heavy]))\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(answer) == [["ks"], []]
