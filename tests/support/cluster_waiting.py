"""Waiting on the control plane in integration tests: poll a probe until it holds, within a
bound that only turns a hang into a readable failure (never a speed requirement).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")
#: Bound for anything the cluster, the node stand-in or the operator does in these tests.
PATIENCE = 180.0


def wait_for(
    what: str, probe: Callable[[], T | None], timeout: float = PATIENCE, interval: float = 0.5
) -> T:
    """Call ``probe`` every ``interval`` seconds until it returns something truthy and return
    that; fail the test naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(interval)
