"""The examples in the sidecar's and the parsers' docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "kubedrift.payloads",
    "kubedrift.payloads.detection",
    "kubedrift.payloads.errors",
    "kubedrift.payloads.model",
    "kubedrift.payloads.naming",
    "kubedrift.payloads.routes",
    "kubedrift.sidecar.config",
    "kubedrift.sidecar.label_store",
    "kubedrift.sidecar.metrics",
    "kubedrift.sidecar.mirror",
    "kubedrift.sidecar.models",
    "kubedrift.sidecar.sampling",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), verbose=False)

    assert result.attempted > 0
    assert result.failed == 0
