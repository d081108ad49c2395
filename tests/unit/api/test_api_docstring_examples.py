"""The examples in the API modules' docstrings run and print what they claim."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from kubedrift.api import conditions, fields, spec, spec_settings


@pytest.mark.parametrize(
    "module", [conditions, fields, spec_settings, spec], ids=lambda m: m.__name__
)
def test_docstring_examples_hold(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
