"""The parsed-baseline cache: one copy per distinct text, bounded, a changed text parsed afresh."""

from __future__ import annotations

import numpy as np
import pytest

from kubedrift.controller.baselines import BaselineCache, text_digest
from kubedrift.stats.baseline import build_baseline


def _baseline_text(seed: int) -> str:
    rng = np.random.default_rng(seed)
    return build_baseline({"amount": rng.normal(size=200)}).to_json()


def test_equal_texts_share_one_parsed_baseline() -> None:
    cache = BaselineCache()
    text = _baseline_text(1)

    first = cache.parse(text)
    again = cache.parse("".join(text))  # an equal string that is another object

    assert again is first
    assert len(cache) == 1


def test_a_changed_text_is_parsed_afresh_and_both_are_kept_within_capacity() -> None:
    cache = BaselineCache(capacity=2)
    old, new = _baseline_text(1), _baseline_text(2)

    before = cache.parse(old)
    after = cache.parse(new)

    assert after is not before
    assert after.feature("amount").mean != before.feature("amount").mean
    assert (old in cache, new in cache) == (True, True)


def test_least_recently_used_baseline_is_dropped_beyond_capacity() -> None:
    cache = BaselineCache(capacity=2)
    first, second, third = (_baseline_text(seed) for seed in (1, 2, 3))
    kept = cache.parse(first)
    cache.parse(second)
    cache.parse(first)  # first is now the most recently used

    cache.parse(third)

    assert (first in cache, second in cache, third in cache) == (True, False, True)
    assert len(cache) == 2
    assert cache.parse(first) is kept


def test_a_broken_baseline_raises_and_is_not_cached() -> None:
    cache = BaselineCache()

    with pytest.raises(ValueError):
        cache.parse("{not json")

    assert len(cache) == 0


def test_capacity_must_hold_at_least_one_baseline() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BaselineCache(capacity=0)


def test_digest_is_the_sha256_hex_written_to_status() -> None:
    assert text_digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
