"""Helpers for the control-plane tests: waiting on a condition with a bound, not a deadline
that tests speed (the bound only turns a hang into a readable failure)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
#: Upper bound for anything the cluster does in these tests (a hang guard, not a speed check).
PATIENCE = 120.0


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = PATIENCE) -> T:
    """Call ``probe`` until it returns something truthy and return that; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(0.2)


@pytest.fixture
def wait() -> Callable[..., Any]:
    """:func:`wait_for`, as a fixture."""
    return wait_for
