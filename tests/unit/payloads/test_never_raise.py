"""Whatever the bytes, parsers raise ParseError with a known reason and nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubedrift.payloads import (
    PROTOCOLS,
    REASONS,
    JsonPaths,
    ParseError,
    ParseOptions,
    parse_exchange,
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["inputs", "outputs", "name", "shape", "data", "datatype", "instances", "predictions",
         "ndarray", "tensor", "values", "names", "meta", "puid", "id", "dataframe_split",
         "dataframe_records", "columns", "parameters", "binary_data_size"]
    ) | st.text(max_size=3), inner, max_size=4),
    max_leaves=25,
)  # fmt: skip
OPTIONS = ParseOptions(
    json_paths=JsonPaths(features="request.data", prediction="response.0", id="request.id")
)


def encoded(document: Any) -> bytes:
    return json.dumps(document).encode()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    protocol=st.sampled_from(PROTOCOLS),
    request=JSON.map(encoded) | st.binary(max_size=40),
    response=JSON.map(encoded) | st.binary(max_size=40),
    header_length=st.none() | st.integers(-2, 60).map(str) | st.just("x"),
)
def test_any_payload_either_parses_consistently_or_raises_parse_error(
    protocol: str, request: bytes, response: bytes, header_length: str | None
) -> None:
    try:
        parsed = parse_exchange(
            protocol, request, response, OPTIONS, request_header_length=header_length
        )
    except ParseError as error:
        assert error.reason in REASONS
        return
    assert parsed.rows > 0
    assert all(len(column) == parsed.rows for column in parsed.columns.values())
    assert parsed.predictions is None or len(parsed.predictions) == parsed.rows


HUGE = "1" + "0" * 400  # an integer JSON allows and no float holds


@pytest.mark.parametrize(
    ("request_body", "response_body"),
    [
        (f'{{"inputs": [{{"name": "x", "shape": [1], "data": [{HUGE}]}}]}}', "{}"),
        (f'{{"instances": [[{HUGE}, 2]]}}', "{}"),
        ('{"inputs": [{"name": "x", "shape": [2, 0], "data": []}]}', "{}"),
        (
            '{"inputs": [{"name": "x", "shape": [2], "data": [1, 2]}]}',
            '{"outputs": [{"name": "y", "shape": [2, 0], "data": []}]}',
        ),
        (
            '{"inputs": [{"name": "x", "shape": [1], "data": [1]}]}',
            f'{{"outputs": [{{"name": "y", "shape": [1, 2], "data": [0, {HUGE}]}}]}}',
        ),
    ],
    ids=[
        "huge-integer-tensor",
        "huge-integer-row",
        "tensor-without-columns",
        "empty-scores",
        "huge-integer-score",
    ],
)
def test_payloads_hypothesis_rarely_builds_still_parse_or_raise_parse_error(
    request_body: str, response_body: str
) -> None:
    try:
        parsed = parse_exchange("auto", request_body.encode(), response_body.encode())
    except ParseError as error:
        assert error.reason in REASONS
    else:
        assert parsed.rows > 0
