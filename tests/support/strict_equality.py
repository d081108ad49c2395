"""Equality that also compares types, for tests that hold two parsers (or decoders) to the same
result: ``1`` is not ``1.0``, ``-0.0`` is not ``0.0``, and ``NaN`` equals ``NaN``."""

from __future__ import annotations

import math
from typing import Any


def same(left: Any, right: Any) -> bool:
    """Equal values of equal types all the way down (dict keys in the same order)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        return (math.isnan(left) and math.isnan(right)) or (
            left == right and math.copysign(1, left) == math.copysign(1, right)
        )
    if isinstance(left, list | tuple):
        return len(left) == len(right) and all(map(same, left, right))
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[k], right[k]) for k in left)
    return bool(left == right)
