"""Fixtures of the control-plane tests: ``wait``, polling a condition with a bound that only turns
a hang into a readable failure (``cluster_waiting.wait_for``, polled every 0.2 s here)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from support.cluster_waiting import wait_for


@pytest.fixture
def wait() -> Callable[..., Any]:
    """:func:`wait_for`, as a fixture."""
    return partial(wait_for, interval=0.2)
