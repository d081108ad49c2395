"""ArrayReservoir: however a stream is cut into batches, it keeps the bottom-k of all its keys."""

from __future__ import annotations

import weakref

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kubedrift.stats.reservoir import REFERENCED_ROWS, ArrayReservoir

#: Streams cut into batches from empty to larger than the capacity, and reservoir capacities.
BATCH_SIZE = st.integers(0, 40)
BATCH_SIZES = st.lists(BATCH_SIZE, max_size=30)
CAPACITIES = st.integers(1, 25)
SEEDS = st.integers(0, 2**16)


def bottom_k(keys: np.ndarray, rows: np.ndarray, capacity: int) -> tuple[list[float], list[float]]:
    """The specification: the ``capacity`` rows with the smallest keys, in key order."""
    order = np.argsort(keys, kind="stable")[:capacity]
    return keys[order].tolist(), rows[order].ravel().tolist()


@settings(max_examples=60, deadline=None)
@given(BATCH_SIZES, CAPACITIES, SEEDS)
def test_batches_keep_the_smallest_keys_of_the_whole_stream(
    sizes: list[int], capacity: int, seed: int
) -> None:
    """Batch sizes from empty to larger than the capacity exercise the filling phase, the
    pending rows and the settling that overwrites evicted slots."""
    rng = np.random.default_rng(seed)
    total = sum(sizes)
    keys = rng.random(total)
    columns = rng.normal(size=(3, total))
    reservoir = ArrayReservoir(capacity, width=3)
    start = 0
    for size in sizes:
        reservoir.offer(keys[start : start + size], columns[:, start : start + size])
        start += size
    expected_keys, expected_rows = bottom_k(keys, columns.T, capacity)
    assert reservoir.keys.tolist() == expected_keys
    assert reservoir.values.ravel().tolist() == expected_rows


def test_offered_columns_can_be_reused_by_the_caller() -> None:
    """The window sorts its batch matrix in place after offering it; the sample keeps the
    values as they were offered."""
    columns = np.array([[3.0, 1.0, 2.0], [30.0, 10.0, 20.0]])
    reservoir = ArrayReservoir(capacity=2, width=2)
    reservoir.offer(np.array([0.3, 0.1, 0.2]), columns)
    columns[:] = -1.0
    assert reservoir.values.tolist() == [[1.0, 10.0], [2.0, 20.0]]


def test_read_arrays_are_copies() -> None:
    reservoir = ArrayReservoir(capacity=2, width=1)
    reservoir.offer(np.array([0.5, 0.25]), np.array([[5.0, 2.5]]))
    reservoir.values[:] = 0.0
    reservoir.keys[:] = 0.0
    assert (reservoir.keys.tolist(), reservoir.values.tolist()) == ([0.25, 0.5], [[2.5], [5.0]])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(BATCH_SIZE, st.booleans()), max_size=30), CAPACITIES, SEEDS)
def test_reading_between_batches_does_not_change_what_is_kept(
    batches: list[tuple[int, bool]], capacity: int, seed: int
) -> None:
    """A read puts the sample in key order in place, also while free slots remain; later
    batches keep filling and replacing from there."""
    rng = np.random.default_rng(seed)
    total = sum(size for size, _ in batches)
    keys = rng.random(total)
    columns = rng.normal(size=(2, total))
    reservoir = ArrayReservoir(capacity, width=2)
    start = 0
    for size, read in batches:
        reservoir.offer(keys[start : start + size], columns[:, start : start + size])
        start += size
        if read:
            expected_keys, _ = bottom_k(keys[:start], columns.T[:start], capacity)
            assert reservoir.keys.tolist() == expected_keys
    expected_keys, expected_rows = bottom_k(keys, columns.T, capacity)
    assert reservoir.keys.tolist() == expected_keys
    assert reservoir.values.ravel().tolist() == expected_rows


def test_rows_copied_into_free_slots_do_not_follow_the_callers_array() -> None:
    columns = np.array([[1.0, 2.0], [10.0, 20.0]])
    reservoir = ArrayReservoir(capacity=5, width=2)
    reservoir.offer(np.array([0.2, 0.1]), columns)
    columns[:] = -1.0
    assert reservoir.values.tolist() == [[2.0, 20.0], [1.0, 10.0]]


def test_a_reservoir_restored_below_capacity_keeps_filling() -> None:
    rng = np.random.default_rng(4)
    keys, columns = rng.random(9), rng.normal(size=(3, 9))
    partial = ArrayReservoir(capacity=6, width=3)
    partial.offer(keys[:4], columns[:, :4])
    restored = ArrayReservoir.from_dict(partial.to_dict(), capacity=6, width=3)
    restored.offer(keys[4:], columns[:, 4:])
    expected_keys, expected_rows = bottom_k(keys, columns.T, 6)
    assert restored.keys.tolist() == expected_keys
    assert restored.values.ravel().tolist() == expected_rows


@settings(max_examples=60, deadline=None)
@given(BATCH_SIZES, CAPACITIES, SEEDS)
def test_batches_handed_over_keep_the_same_sample_as_copied_ones(
    sizes: list[int], capacity: int, seed: int
) -> None:
    """With ``owned`` the reservoir may keep whole batches and gather from them later; what it
    keeps is still the bottom-k of the stream."""
    rng = np.random.default_rng(seed)
    keys = [rng.random(size) for size in sizes]
    batches = [rng.normal(size=(2, size)) for size in sizes]
    owner, copier = ArrayReservoir(capacity, width=2), ArrayReservoir(capacity, width=2)
    for batch_keys, columns in zip(keys, batches, strict=True):
        owner.offer(batch_keys, columns, owned=True)
        copier.offer(batch_keys, columns.copy())
    assert owner.keys.tolist() == copier.keys.tolist()
    assert owner.values.tolist() == copier.values.tolist()


def test_a_batch_is_kept_only_when_at_least_half_of_it_may_enter() -> None:
    reservoir = ArrayReservoir(capacity=4, width=1)
    assert reservoir.offer(np.array([0.5, 0.6, 0.7, 0.8]), np.ones((1, 4)), owned=True)
    assert reservoir.offer(np.array([0.1, 0.2, 0.3, 0.4]), np.ones((1, 4)), owned=True)
    assert len(reservoir) == 4  # read: settled, cut-off 0.4
    copied = np.array([[1.0, 2.0, 3.0, 4.0]])
    assert not reservoir.offer(np.array([0.05, 0.9, 0.95, 0.99]), copied, owned=True)
    copied[:] = -1.0
    assert reservoir.values.ravel().tolist() == [1.0, 1.0, 1.0, 1.0]
    assert reservoir.keys.tolist() == [0.05, 0.1, 0.2, 0.3]
    assert not reservoir.offer(np.array([0.5]), np.ones((1, 1)), owned=False)


def test_handed_over_batches_are_released_once_they_hold_the_bound() -> None:
    """Referenced batches are settled (and let go) once they hold ``REFERENCED_ROWS`` times the
    capacity in rows, so the memory a reservoir holds stays bounded."""
    capacity = 4
    reservoir = ArrayReservoir(capacity, width=1)
    rng = np.random.default_rng(0)
    first = rng.normal(size=(1, capacity))
    alive = weakref.ref(first)
    reservoir.offer(rng.random(capacity), first, owned=True)
    del first
    for _ in range(REFERENCED_ROWS - 2):
        reservoir.offer(rng.random(capacity), rng.normal(size=(1, capacity)), owned=True)
    assert alive() is not None
    reservoir.offer(rng.random(capacity), rng.normal(size=(1, capacity)), owned=True)
    assert alive() is None
