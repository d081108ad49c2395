"""Batch binning: EdgeCounter agrees with counting value by value, whatever the batch layout."""

from __future__ import annotations

import numpy as np
import pytest

from kubedrift.stats.binning import LAYOUTS, SORT_CHUNK, EdgeCounter, SearchTables


def counted_one_by_one(matrix: np.ndarray, edges: np.ndarray) -> list[list[int]]:
    """The specification: for each row and edge, the number of values strictly above it."""
    return [
        [sum(1 for value in row if value > edge) for edge in row_edges]
        for row, row_edges in zip(matrix.tolist(), edges.tolist(), strict=True)
    ]


def edges_for(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Ascending edges per row, some rows padded with +inf, one starting at -inf."""
    edges = np.sort(rng.normal(size=(rows, 6)), axis=1)
    edges[1, 4:] = np.inf
    edges[2, 0] = -np.inf
    return edges


@pytest.mark.parametrize(
    "size", [1, 7, SORT_CHUNK - 1, SORT_CHUNK, SORT_CHUNK + 1, 3 * SORT_CHUNK, 1001]
)
def test_counts_above_edges_equal_counting_one_by_one(size: int) -> None:
    """Sizes cover one short row, exactly one chunk, chunks that need -inf padding (257, 1001)
    and several whole chunks."""
    rng = np.random.default_rng(size)
    edges = edges_for(rng, rows=4)
    matrix = rng.normal(size=(4, size))
    expected = counted_one_by_one(matrix, edges)
    assert EdgeCounter(edges).above(matrix).tolist() == expected


def test_values_equal_to_an_edge_are_not_above_it_and_infinities_are_ordered() -> None:
    edges = np.array([[0.0, 1.0, 2.0], [-np.inf, 0.0, np.inf]])
    matrix = np.array(
        [
            [0.0, 1.0, 2.0, np.inf, -np.inf, 1.5],
            [-np.inf, 0.0, np.inf, 5.0, -5.0, 0.0],
        ]
    )
    assert EdgeCounter(edges).above(matrix).tolist() == [[4, 3, 1], [5, 2, 0]]


def test_one_counter_serves_batches_of_changing_size() -> None:
    """The scratch arrays follow the batch layout; a size seen before gives the same answer."""
    rng = np.random.default_rng(3)
    edges = edges_for(rng, rows=3)
    counter = EdgeCounter(edges)
    for size in (300, 64, 300, 2):
        matrix = rng.normal(size=(3, size))
        expected = counted_one_by_one(matrix, edges)
        assert counter.above(matrix).tolist() == expected


def test_counters_sharing_search_tables_count_like_counters_of_their_own() -> None:
    """Two counters take turns on one set of tables, through more batch sizes than the tables
    keep, so layouts are built, dropped and built again."""
    rng = np.random.default_rng(8)
    edges = edges_for(rng, rows=3)
    tables = SearchTables(edges)
    counters = [EdgeCounter(edges, tables), EdgeCounter(edges, tables)]
    sizes = [*range(1, 8 * (LAYOUTS + 2), 8), SORT_CHUNK + 5, 1, 3 * SORT_CHUNK]
    for i, size in enumerate(sizes):
        matrix = rng.normal(size=(3, size))
        expected = counted_one_by_one(matrix, edges)
        assert counters[i % 2].above(matrix).tolist() == expected
        assert len(tables) <= LAYOUTS


def test_search_tables_are_read_only() -> None:
    edges = edges_for(np.random.default_rng(1), rows=3)
    tables = SearchTables(edges)
    EdgeCounter(edges, tables).above(np.random.default_rng(2).normal(size=(3, 40)))
    layout = tables.layout(1, 40)
    for array in layout:
        with pytest.raises(ValueError, match="read-only"):
            array.flat[0] = 0


def test_search_tables_of_other_edges_are_rejected() -> None:
    edges = edges_for(np.random.default_rng(1), rows=3)
    with pytest.raises(ValueError, match="other edges"):
        EdgeCounter(edges.copy(), SearchTables(edges))
