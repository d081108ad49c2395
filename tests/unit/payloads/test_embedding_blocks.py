"""A wide input arrives as one block, whatever the protocol: an ``[n, d]`` tensor, several
tensors next to it, or rows whose field holds a list. The parsers keep the block's cells in one
list (a 768-wide embedding is one object, not 768 columns), named after the tensor or field, and
the sidecar turns a batch of such blocks into one ``n x d`` array for the window."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kubedrift.payloads import ParseOptions, parse_exchange
from kubedrift.payloads.model import BlockedColumns, RowMajorColumns, blocks_in
from kubedrift.sidecar.batching import to_columns
from kubedrift.stats.baseline import Baseline, build_baseline
from kubedrift.stats.window import Window

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


ROWS = VECTORS.tolist()
LIST_RESPONSE = b'{"predictions": [1, 0]}'


@pytest.mark.parametrize(
    ("protocol", "body"),
    [
        ("auto", {"instances": ROWS}),  # KServe v1
        ("kserve-v1", {"inputs": ROWS}),
        ("mlflow", {"instances": ROWS}),
        ("mlflow", {"dataframe_split": {"data": ROWS}}),
        ("seldon-v1", {"data": {"ndarray": ROWS}}),
    ],
)
def test_list_rows_without_names_wider_than_the_width_are_one_block_named_instances(
    protocol: str, body: object
) -> None:
    response = b'{"data": {"ndarray": [1, 0]}}' if protocol == "seldon-v1" else LIST_RESPONSE
    parsed = parse_exchange(protocol, json.dumps(body).encode(), response)
    (block,) = blocks_in(parsed.columns)
    assert (block.layout.tensor, block.width, block.rows) == ("instances", WIDTH, 2)
    assert parsed.columns["instances-299"] == VECTORS[:, 299].tolist()


def test_list_rows_up_to_the_width_or_with_configured_names_stay_positional_columns() -> None:
    body = json.dumps({"instances": ROWS}).encode()
    wider = parse_exchange("auto", body, LIST_RESPONSE, ParseOptions(embedding_width=WIDTH))
    assert blocks_in(wider.columns) == ()
    assert parsed_names(wider.columns)[:2] == ["0", "1"]
    named = ParseOptions(feature_names=tuple(f"f{j}" for j in range(WIDTH)))
    assert blocks_in(parse_exchange("auto", body, LIST_RESPONSE, named).columns) == ()
    narrow = parse_exchange("auto", b'{"instances": [[1, 2, 3]]}', b'{"predictions": [0]}')
    assert narrow.columns == {"0": [1], "1": [2], "2": [3]}


def test_a_lower_width_makes_narrower_rows_a_block_named_as_configured() -> None:
    options = ParseOptions(embedding_width=2, positional_block="text")
    parsed = parse_exchange("auto", b'{"instances": [[1, 2, 3]]}', b'{"predictions": [0]}', options)
    (block,) = blocks_in(parsed.columns)
    assert (block.layout.tensor, block.cells) == ("text", [1, 2, 3])


def test_a_non_numeric_cell_in_a_wide_row_is_kept_for_the_window_to_count_missing() -> None:
    rows = [list(ROWS[0]), list(ROWS[1])]
    rows[1][5] = None
    parsed = parse_exchange("auto", json.dumps({"instances": rows}).encode(), LIST_RESPONSE)
    (block,) = blocks_in(parsed.columns)
    assert block.cells[WIDTH + 5] is None and block.rows == 2


def test_unnamed_wide_rows_reach_the_baselines_block_as_one_array(baseline: Baseline) -> None:
    # The baseline calls its block "text": the sidecar names positional blocks after it.
    options = ParseOptions(positional_block="text")
    body = json.dumps({"instances": ROWS}).encode()
    tables = [parse_exchange("auto", body, LIST_RESPONSE, options).columns]
    columns = to_columns(baseline, tables, 2)
    np.testing.assert_array_equal(columns["text"], VECTORS)


def parsed_names(columns: object) -> list[str]:
    assert isinstance(columns, RowMajorColumns | dict)
    return list(columns)


def test_kserve_v1_rows_without_names_are_judged_as_the_instances_block() -> None:
    rng = np.random.default_rng(2)
    table = {f"instances-{j}": column for j, column in enumerate(rng.normal(size=(WIDTH, 400)))}
    reference = build_baseline(table)  # a training table written as KServe v1 rows would be
    assert [b.name for b in reference.embeddings] == ["instances"]
    body = json.dumps({"instances": ROWS}).encode()
    columns = to_columns(reference, [parse_exchange("auto", body, LIST_RESPONSE).columns], 2)
    window = Window(reference, start=0.0)
    window.update(columns, now=1.0)
    # Every derived column of the block (pc1..pc8, norm, reconstruction-error) took both rows.
    assert len(reference.derived) == 10
    assert window.samples == 2 and not window.missing.any()
