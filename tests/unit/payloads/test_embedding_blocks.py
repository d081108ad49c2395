"""A wide input arrives as one block, whatever the protocol: an ``[n, d]`` tensor, several
tensors next to it, or rows whose field holds a list. The parsers keep the block's cells in one
list (a 768-wide embedding is one object, not 768 columns), named after the tensor or field, and
the sidecar turns a batch of such blocks into one ``n x d`` array for the window."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kubedrift.payloads import parse_exchange
from kubedrift.payloads.model import BlockedColumns, RowMajorColumns, blocks_in
from kubedrift.sidecar.batching import to_columns
from kubedrift.stats.baseline import Baseline, build_baseline

WIDTH = 300  # above the default embedding width (256)
RNG = np.random.default_rng(0)
VECTORS = RNG.normal(size=(2, WIDTH)).round(4)
OIP_RESPONSE = b'{"outputs": [{"name": "p", "shape": [2], "datatype": "FP64", "data": [1, 0]}]}'


def oip(*extra: object) -> bytes:
    text = {"name": "text", "shape": [2, WIDTH], "datatype": "FP32", "data": VECTORS.tolist()}
    return json.dumps({"inputs": [text, *extra]}).encode()


def rows_with_field() -> list[dict[str, object]]:
    return [{"text": VECTORS[0].tolist(), "age": 30}, {"text": VECTORS[1].tolist(), "age": 40}]


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    rng = np.random.default_rng(1)
    return build_baseline({"text": rng.normal(size=(400, WIDTH)), "age": rng.normal(size=400)})


def test_an_oip_tensor_is_one_block_named_after_the_tensor() -> None:
    parsed = parse_exchange("auto", oip(), OIP_RESPONSE)
    assert isinstance(parsed.columns, RowMajorColumns)
    (block,) = blocks_in(parsed.columns)
    assert (block.layout.tensor, block.width, block.rows) == ("text", WIDTH, 2)
    assert parsed.columns["text-299"] == VECTORS[:, 299].tolist()


def test_a_wide_tensor_next_to_scalar_tensors_stays_one_block() -> None:
    age = {"name": "age", "shape": [2], "datatype": "FP64", "data": [30, 40]}
    parsed = parse_exchange("auto", oip(age), OIP_RESPONSE)
    assert isinstance(parsed.columns, BlockedColumns)
    assert parsed.columns.plain == {"age": [30, 40]}
    assert [b.layout.tensor for b in parsed.columns.blocks] == ["text"]
    assert len(parsed.columns) == WIDTH + 1  # as a mapping it still holds every column


@pytest.mark.parametrize(
    ("protocol", "body", "response"),
    [
        ("auto", {"instances": rows_with_field()}, b'{"predictions": [1, 0]}'),
        ("json", rows_with_field(), b"[1, 0]"),
    ],
)
def test_rows_whose_field_holds_a_list_give_one_block_named_after_the_field(
    protocol: str, body: object, response: bytes
) -> None:
    parsed = parse_exchange(protocol, json.dumps(body).encode(), response)
    assert isinstance(parsed.columns, BlockedColumns)
    assert parsed.rows == 2
    assert parsed.columns.plain == {"age": [30, 40]}
    (block,) = parsed.columns.blocks
    assert block.layout.tensor == "text"
    assert block.cells == VECTORS.ravel().tolist()


def test_a_row_whose_list_has_another_width_is_refused_with_its_place() -> None:
    rows = rows_with_field()
    rows[1]["text"] = [1.0, 2.0]
    with pytest.raises(Exception, match=rf"features\[1\]\.text is not {WIDTH} values"):
        parse_exchange("json", json.dumps(rows).encode(), b"[1, 0]")


def test_the_sidecar_hands_the_window_one_array_per_block_whichever_way_it_came(
    baseline: Baseline,
) -> None:
    age = {"name": "age", "shape": [2], "datatype": "FP64", "data": [30, 40]}
    tables = [
        parse_exchange("auto", oip(), OIP_RESPONSE).columns,
        parse_exchange("auto", oip(age), OIP_RESPONSE).columns,
        parse_exchange("json", json.dumps(rows_with_field()).encode(), b"[1, 0]").columns,
        {"age": [1.0, 2.0]},  # an exchange without the block: missing rows
        {f"text-{j}": VECTORS[:, j].tolist() for j in range(WIDTH)},  # column by column
    ]
    columns = to_columns(baseline, tables, 10)
    assert columns["text"].shape == (10, WIDTH)
    np.testing.assert_array_equal(columns["text"][:6], np.vstack([VECTORS] * 3))
    assert np.isnan(columns["text"][6:8]).all()
    np.testing.assert_array_equal(columns["text"][8:], VECTORS)
    assert np.isnan(columns["age"][:2]).all()
    assert columns["age"][2:6].tolist() == [30, 40, 30, 40]
