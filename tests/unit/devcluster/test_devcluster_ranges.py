"""Address ranges: one per running cluster on the machine, the first free one by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubedrift_dev.devcluster.ranges import (
    AddressRanges,
    RangeReservation,
    RangesUnavailableError,
)


def test_range_n_puts_pods_on_127_0_n_and_services_on_127_0_100_plus_n() -> None:
    ranges = AddressRanges(7)
    assert (ranges.pod_cidr, ranges.service_cidr) == ("127.0.7.0/24", "127.0.107.0/24")


def test_each_reservation_gets_the_first_range_nobody_holds(tmp_path: Path) -> None:
    first, second = RangeReservation(tmp_path), RangeReservation(tmp_path)
    assert first.reserve() == AddressRanges(1)
    assert second.reserve() == AddressRanges(2)
    first.release()
    third = RangeReservation(tmp_path)
    assert third.reserve() == AddressRanges(1)
    second.release()
    third.release()


def test_a_range_held_by_another_cluster_cannot_be_taken(tmp_path: Path) -> None:
    holder = RangeReservation(tmp_path)
    holder.reserve(5)
    with pytest.raises(RangesUnavailableError, match="range 5 is held"):
        RangeReservation(tmp_path).reserve(5)
    holder.release()


def test_range_numbers_stay_within_1_to_99(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"outside 1\.\.99"):
        RangeReservation(tmp_path).reserve(100)
