"""The examples in the package's docstrings run and print what they claim: every module whose
source holds a ``>>>`` example, found by reading the sources, so that a new example cannot be
forgotten in a hand-kept list."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

import kubedrift

PACKAGE = Path(kubedrift.__file__).parent


def modules_with_examples() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if ">>> " in path.read_text():
            parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


@pytest.mark.parametrize("name", modules_with_examples())
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), verbose=False)

    assert result.attempted > 0
    assert result.failed == 0
