"""Pod addresses come from a loopback range, one per Pod, reused as late as possible."""

from __future__ import annotations

import pytest

from kubedrift_dev.devcluster.node.podips import AddressPool


def test_addresses_are_handed_out_in_order_skipping_127_0_1_1() -> None:
    pool = AddressPool("127.0.1.0/29")
    assert [pool.allocate(k) for k in "abcde"] == [f"127.0.1.{n}" for n in (2, 3, 4, 5, 6)]


def test_a_pod_keeps_its_address_and_released_ones_come_back_last() -> None:
    pool = AddressPool("127.0.2.0/29")
    first = pool.allocate("a")
    assert pool.allocate("a") == first
    pool.release("a")
    assert [pool.allocate(k) for k in "bcdefg"][-1] == first


def test_exhausted_pool_raises() -> None:
    pool = AddressPool("127.0.2.0/30")
    pool.allocate("a")
    pool.allocate("b")
    with pytest.raises(RuntimeError, match="no free pod address"):
        pool.allocate("c")


def test_non_loopback_ranges_are_refused() -> None:
    with pytest.raises(ValueError, match="not a loopback range"):
        AddressPool("10.0.0.0/24")
