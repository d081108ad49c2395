"""A batch of parsed exchanges becomes the same typed arrays whichever way its rows arrived: as
row-major blocks (``[n, d]`` tensors, list rows), converted in one go, or column by column."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kubedrift.payloads import ParseError, ParseOptions, parse_exchange
from kubedrift.payloads.model import RowMajorColumns, column_layout
from kubedrift.sidecar.batching import to_columns
from kubedrift.stats.baseline import Baseline, build_baseline

NAMES = ("x-0", "x-1", "x-2")


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    """x-0 and x-2 numeric, x-1 categorical (codes 0-2), and ``other``, which no payload has."""
    rng = np.random.default_rng(0)
    return build_baseline(
        {
            "x-0": rng.normal(size=300),
            "x-1": rng.integers(0, 3, 300),
            "x-2": rng.normal(size=300),
            "other": rng.normal(size=300),
        },
        categorical=["x-1"],
    )


def block(*rows: list[Any]) -> RowMajorColumns:
    return RowMajorColumns(column_layout(NAMES), [cell for row in rows for cell in row])


def as_dict(table: RowMajorColumns) -> dict[str, list[Any]]:
    return {name: list(table[name]) for name in table}


def assert_same(left: dict[str, np.ndarray[Any, Any]], right: dict[str, Any]) -> None:
    assert left.keys() == right.keys()
    for name, array in left.items():
        assert array.dtype == right[name].dtype, name
        if array.dtype == object:
            assert list(array) == list(right[name]), name
        else:
            np.testing.assert_array_equal(array, right[name], err_msg=name)


@pytest.mark.parametrize(
    "rows",
    [
        [[[0.5, 1, -2.0]], [[1.5, 2, 3.0], [2.5, 0, 4.0]]],  # numbers: the one-conversion path
        [[[0.5, "b", -2.0]], [[1.5, 2, None]]],  # a string and a None: column by column
        [[[0.5, 1, "1e3"]]],  # a numeric string converts like it does column by column
        [[[0.5, 1, "not a number"]]],
    ],
)
def test_blocks_give_the_arrays_their_columns_give(
    baseline: Baseline, rows: list[list[list[Any]]]
) -> None:
    blocks = [block(*exchange) for exchange in rows]
    size = sum(len(exchange) for exchange in rows)

    from_blocks = to_columns(baseline, blocks, size)
    from_dicts = to_columns(baseline, [as_dict(b) for b in blocks], size)

    assert_same(from_blocks, from_dicts)
    assert np.isnan(from_blocks["other"]).all()  # not in the payload: missing


def test_a_batch_mixing_layouts_and_dicts_gives_the_same_arrays(baseline: Baseline) -> None:
    reordered = RowMajorColumns(column_layout(("x-2", "x-0")), [7.0, 8.0])
    tables: list[Any] = [block([0.5, 1, -2.0]), reordered, {"x-1": [2], "x-0": [1.0]}]

    columns = to_columns(baseline, tables, 3)

    np.testing.assert_array_equal(columns["x-0"], [0.5, 8.0, 1.0])
    np.testing.assert_array_equal(columns["x-2"], [-2.0, 7.0, np.nan])
    assert list(columns["x-1"]) == [1, None, 2]


def test_a_row_count_that_does_not_match_the_blocks_is_refused(baseline: Baseline) -> None:
    with pytest.raises(ValueError, match="row count"):
        to_columns(baseline, [block([0.5, 1, -2.0])], 2)


SIX = {"x-0": [1, 4], "x-1": [2, 5], "x-2": [3, 6]}


@pytest.mark.parametrize(
    ("protocol", "request_body", "columns", "is_block"),
    [
        ("open-inference-v2", b'{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64",'
         b' "data": [1, 2, 3, 4, 5, 6]}]}', SIX, True),
        ("kserve-v1", b'{"instances": [[1, 2, 3], [4, 5, 6]]}', SIX, True),
        ("seldon-v1", b'{"data": {"ndarray": [[1, 2, 3], [4, 5, 6]]}}', SIX, True),
        ("kserve-v1", b'{"instances": [[1, 2, 3], [4, true, 6]]}',
         {"x-0": [1, 4], "x-1": [2, True], "x-2": [3, 6]}, False),  # a bool: cell by cell
        ("kserve-v1", b'{"instances": [[1, 2, 3], [4, 1e999, 6]]}',
         {"x-0": [1, 4], "x-1": [2, None], "x-2": [3, 6]}, False),  # infinity: missing
    ],
)  # fmt: skip
def test_parsers_hand_over_number_rows_as_blocks_and_the_rest_cell_by_cell(
    protocol: str, request_body: bytes, columns: dict[str, list[Any]], is_block: bool
) -> None:
    parsed = parse_exchange(protocol, request_body, b"", ParseOptions(feature_names=NAMES))

    assert parsed.columns == columns
    assert isinstance(parsed.columns, RowMajorColumns) is is_block
    assert parsed.rows == 2


def test_ragged_list_rows_are_still_refused_with_the_row_named() -> None:
    with pytest.raises(ParseError, match=r"instances\[1\] has 2 cells, not 3"):
        parse_exchange("kserve-v1", b'{"instances": [[1, 2, 3], [4, 5]]}', b"")
