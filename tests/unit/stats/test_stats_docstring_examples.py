"""The examples in the statistics modules' docstrings run and print what they claim."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from kubedrift.stats import baseline, binning, calibration, paired_comparison, window
from kubedrift.stats.detectors import adwin, cusum, page_hinkley
from kubedrift.stats.engine import contract, engine, increments, reference


@pytest.mark.parametrize(
    "module",
    [
        baseline,
        binning,
        window,
        calibration,
        paired_comparison,
        adwin,
        cusum,
        page_hinkley,
        contract,
        engine,
        increments,
        reference,
    ],
    ids=lambda m: m.__name__,
)
def test_docstring_examples_hold(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
