"""The usual OIP exchange decoded by type gives what the general OIP parser gives, or defers to it.

``open_inference_typed.parse`` answers ``None`` for anything but the usual shape; whenever it does
answer, the general parser (``open_inference.parse``, and ``auto`` detection) must give the same
columns, predictions, rows and id, value for value and type for type.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubedrift.payloads import (
    Parsed,
    ParseError,
    ParseOptions,
    detect,
    open_inference,
    open_inference_typed,
)
from kubedrift.payloads.tables import Decoded, load_json
from support.strict_equality import same


def assert_same_parse(typed: Parsed, general: Parsed) -> None:
    assert typed.protocol == general.protocol
    assert typed.rows == general.rows
    assert typed.request_id == general.request_id
    assert list(typed.columns) == list(general.columns)
    for name in general.columns:
        assert same(typed.columns[name], general.columns[name]), name
    assert same(typed.predictions, general.predictions)


def general_parse(request: bytes, response: bytes, options: ParseOptions) -> Parsed:
    return open_inference.parse(request, response, options)


def body(document: Any) -> bytes:
    return json.dumps(document).encode()


def tensor(name: str, shape: list[int], data: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "shape": shape, "datatype": "FP64", "data": data, **extra}


USUAL = [
    pytest.param(
        {"id": "r1", "inputs": [tensor("x", [2, 3], [1, 2.5, 3, 4, -0.0, 6])]},
        {"id": "r2", "outputs": [tensor("y", [2], [0, 1])]},
        ParseOptions(),
        id="one-matrix",
    ),
    pytest.param(
        {"inputs": [tensor("a", [2], [1.5, 2]), tensor("b", [2, 1], [3, 4])]},
        {"id": 7, "outputs": [tensor("y", [2], ["cat", None])]},
        ParseOptions(),
        id="columns-and-response-id",
    ),
    pytest.param(
        {"inputs": [tensor("x", [1, 2], [1, 2], parameters={"content_type": "np"})]},
        {"outputs": [tensor("p", [1, 3], [0.1, 0.7, 0.2]), tensor("y", [1], [True])]},
        ParseOptions(prediction_output="y"),
        id="named-output",
    ),
    pytest.param(
        {"inputs": [tensor("x", [2], [1, 2])]},
        {"outputs": [tensor("scores", [2, 3], [0.1, 0.7, 0.2, 0.9, 0.05, 0.05])]},
        ParseOptions(),
        id="scores-argmax",
    ),
    pytest.param(
        {"inputs": [tensor("x", [1], [1])]},
        "not json at all",
        ParseOptions(),
        id="unparsable-response",
    ),
]


@pytest.mark.parametrize(("request_document", "response_document", "options"), USUAL)
def test_the_usual_exchanges_are_decoded_by_type_with_the_general_result(
    request_document: Any, response_document: Any, options: ParseOptions
) -> None:
    request, response = body(request_document), body(response_document)

    typed = open_inference_typed.parse(request, response, options)

    assert typed is not None
    assert_same_parse(typed, general_parse(request, response, options))


@pytest.mark.parametrize(
    "request_document",
    [
        {"inputs": [tensor("x", [2, 2], [[1, 2], [3, 4]])]},  # nested data
        {"inputs": [tensor("x", [2], [1, "2"])]},  # a string cell
        {"inputs": [tensor("x", [2], [1, True])]},  # a boolean cell
        {"inputs": [tensor("x", [1], [1], parameters={"binary_data_size": 8})]},
        {"inputs": [tensor("x", [2], [1])]},  # too few values
        {"inputs": [tensor("x", [2, 0], [])]},
        {"inputs": [{"name": "x", "shape": [1]}]},  # no data
        {"inputs": []},
        {"instances": [[1, 2]]},  # KServe v1
    ],
)
def test_anything_else_is_left_to_the_general_parser(request_document: Any) -> None:
    assert open_inference_typed.parse(body(request_document), b"", ParseOptions()) is None


@pytest.mark.parametrize(
    ("outputs", "reason"),
    [
        ([tensor("z", [-1], []), tensor("y", [1], [1])], "bad_shape"),
        ([tensor("z", [1, 2], [1]), tensor("y", [1], [1])], "bad_shape"),
        ([tensor("z", [1, 2, 1], [1, 2]), tensor("y", [1], [1])], "bad_shape"),
        ([tensor("y", [2], [1, 2])], "row_mismatch"),
        ([tensor("a", [1], [1])], "missing_field"),
        ([tensor("y", [1, 2], [1, "x"])], "unsupported_type"),
    ],
    ids=["negative-dimension", "too-few-values", "three-dimensions", "rows", "no-such-output",
         "scores-not-numbers"],
)  # fmt: skip
def test_responses_the_general_parser_rejects_are_rejected_alike(
    outputs: list[dict[str, Any]], reason: str
) -> None:
    request = body({"inputs": [tensor("x", [1], [1.0])]})
    response = body({"outputs": outputs})
    options = ParseOptions(prediction_output="y")

    with pytest.raises(ParseError) as general:
        general_parse(request, response, options)
    with pytest.raises(ParseError) as typed:
        open_inference_typed.parse(request, response, options)

    assert typed.value.reason == general.value.reason == reason


NUMBERS = (
    st.integers(-5, 5)
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.just(10**400)
)
ODD_CELLS = st.booleans() | st.none() | st.text(max_size=2) | st.lists(NUMBERS, max_size=2)
IDS = st.none() | st.text(max_size=3) | st.integers() | st.booleans() | st.floats(0, 1)


@st.composite
def tensor_documents(draw: st.DrawFn, names: st.SearchStrategy[Any], rows: int) -> dict[str, Any]:
    """A tensor of ``rows`` rows, mostly well formed, sometimes with one thing wrong."""
    width = draw(st.integers(1, 3))
    shape: Any = [rows] if width == 1 and draw(st.booleans()) else [rows, width]
    data: list[Any] = draw(st.lists(NUMBERS, min_size=rows * width, max_size=rows * width))
    document: dict[str, Any] = {"name": draw(names), "shape": shape, "datatype": "FP64"}
    flaw = draw(st.sampled_from(["none"] * 15 + ["cell", "shape", "count", "parameters", "nest"]))
    if flaw == "cell" and data:
        data[draw(st.integers(0, len(data) - 1))] = draw(ODD_CELLS)
    elif flaw == "shape":
        document["shape"] = draw(st.sampled_from([[], [rows, width, 1], [-1], [rows, 0], [True]]))
    elif flaw == "count":
        data = data[1:] if data else [1.0]
    elif flaw == "parameters":
        document["parameters"] = draw(
            st.sampled_from([{}, {"content_type": "pd"}, {"binary_data_size": 8}, "x", None])
        )
    elif flaw == "nest" and data:
        data = [data]
    document["data"] = data
    return document


@st.composite
def exchanges(draw: st.DrawFn) -> tuple[bytes, bytes]:
    rows = draw(st.sampled_from([0, 1, 1, 2, 3]))
    inputs = draw(st.lists(tensor_documents(st.sampled_from(["a", "b", "a", 1]), rows), max_size=3))
    request: dict[str, Any] = {"inputs": inputs}
    if draw(st.integers(0, 3)):
        request["id"] = draw(IDS)
    answer_rows = rows if draw(st.integers(0, 4)) else draw(st.integers(0, 3))
    outputs = draw(st.lists(tensor_documents(st.sampled_from(["y", "z", None]), answer_rows)))
    response: Any = {"outputs": outputs}
    if draw(st.integers(0, 3)):
        response["id"] = draw(IDS)
    response = draw(st.sampled_from([response] * 5 + [{}, {"outputs": "y"}, []]))
    return body(request), body(response)


OPTIONS = st.builds(
    ParseOptions,
    prediction_output=st.sampled_from([None, "y", "z"]),
    prediction_reduce=st.sampled_from(["argmax", "first", "none"]),
)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(exchange=exchanges(), options=OPTIONS)
def test_whenever_typed_decoding_answers_it_answers_what_the_general_parser_does(
    exchange: tuple[bytes, bytes], options: ParseOptions
) -> None:
    request, response = exchange
    try:
        typed = open_inference_typed.parse(request, response, options)
    except ParseError as error:  # a usual request with a response the general parser rejects
        with pytest.raises(ParseError) as general_error:
            general_parse(request, response, options)
        assert general_error.value.reason == error.reason
        return
    if typed is None:
        return  # the general parser decides alone
    assert_same_parse(typed, general_parse(request, response, options))
    document = load_json(request)  # what `auto` does without the typed path
    assert detect(document) == "open-inference-v2"
    assert_same_parse(typed, open_inference.parse(Decoded(document), response, options))
