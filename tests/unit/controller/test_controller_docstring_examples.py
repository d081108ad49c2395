"""The examples in the operator modules' docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "kubedrift.controller.client",
    "kubedrift.controller.names",
    "kubedrift.controller.evaluated_status",
    "kubedrift.controller.watch_health",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), verbose=False)

    assert result.attempted > 0
    assert result.failed == 0
