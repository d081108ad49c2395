"""Open Inference Protocol v2 payloads -> columns, predictions and the body id."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest

from kubedrift.payloads import ParseError, ParseOptions, parse_exchange


def body(document: Any) -> bytes:
    return json.dumps(document).encode()


def tensor(name: str, shape: list[int], data: Any, datatype: str = "FP64") -> dict[str, Any]:
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


def test_single_matrix_input_becomes_one_column_per_feature_named_with_its_index() -> None:
    request = body({"id": "r1", "inputs": [tensor("x", [2, 3], [1, 2, 3, 4, 5, 6])]})
    response = body({"id": "r1", "outputs": [tensor("y", [2], [0, 1], "INT64")]})

    parsed = parse_exchange("open-inference-v2", request, response)

    assert parsed.columns == {"x-0": [1, 4], "x-1": [2, 5], "x-2": [3, 6]}
    assert parsed.predictions == [0, 1]
    assert parsed.rows == 2
    assert parsed.request_id == "r1"


def test_nested_data_is_read_row_major_like_flat_data() -> None:
    request = body({"inputs": [tensor("x", [2, 2], [[1, 2], [3, 4]])]})

    parsed = parse_exchange("open-inference-v2", request, b"")

    assert parsed.columns == {"x-0": [1, 3], "x-1": [2, 4]}
    assert parsed.predictions is None


def test_pandas_content_type_gives_one_column_per_input_including_strings() -> None:
    request = body(
        {
            "parameters": {"content_type": "pd"},
            "inputs": [
                tensor("amount", [3], [1.5, 2.5, 3.5]),
                tensor("country", [3, 1], ["fr", "de", "fr"], "BYTES"),
            ],
        }
    )

    parsed = parse_exchange("auto", request, b"")

    assert parsed.protocol == "open-inference-v2"
    assert parsed.columns == {"amount": [1.5, 2.5, 3.5], "country": ["fr", "de", "fr"]}


def test_score_vectors_are_reduced_to_the_argmax_class_by_default() -> None:
    request = body({"inputs": [tensor("x", [2], [1, 2])]})
    response = body({"outputs": [tensor("p", [2, 3], [0.1, 0.7, 0.2, 0.6, 0.3, 0.1])]})

    assert parse_exchange("auto", request, response).predictions == [1, 0]


def test_prediction_output_selects_the_named_output_tensor() -> None:
    request = body({"inputs": [tensor("x", [1], [1])]})
    response = body(
        {"outputs": [tensor("proba", [1, 2], [0.2, 0.8]), tensor("label", [1], ["yes"], "BYTES")]}
    )
    options = ParseOptions(prediction_output="label")

    assert parse_exchange("auto", request, response, options).predictions == ["yes"]


def test_response_id_is_used_when_the_request_has_none() -> None:
    request = body({"inputs": [tensor("x", [1], [1])]})
    response = body({"id": "from-server", "outputs": [tensor("y", [1], [0])]})

    assert parse_exchange("auto", request, response).request_id == "from-server"


def test_binary_tensor_extension_is_decoded_little_endian() -> None:
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [2, 2],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": 16},
                }
            ]
        }
    ).encode()
    request = header + struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)

    parsed = parse_exchange("auto", request, b"", request_header_length=str(len(header)))

    assert parsed.columns == {"x-0": [1.0, 3.0], "x-1": [2.0, 4.0]}


def binary_request(tensors: list[tuple[str, list[int], str, bytes]]) -> tuple[bytes, str]:
    """A binary-extension request of ``(name, shape, datatype, raw bytes)`` tensors and its
    ``Inference-Header-Content-Length``."""
    inputs = [
        {"name": name, "shape": shape, "datatype": datatype,
         "parameters": {"binary_data_size": len(raw)}}
        for name, shape, datatype, raw in tensors
    ]  # fmt: skip
    header = json.dumps({"inputs": inputs}).encode()
    return header + b"".join(raw for *_, raw in tensors), str(len(header))


def test_binary_tensors_of_every_kind_from_the_wild_are_decoded() -> None:
    strings = b"".join(struct.pack("<I", len(s)) + s for s in (b"paris", b"", "k\u00f6ln".encode()))
    request, length = binary_request(
        [
            ("city", [3], "BYTES", strings),
            ("half", [3], "FP16", struct.pack("<3e", 0.5, 1.5, -2.0)),
            ("count", [3], "INT64", struct.pack("<3q", 1, -2, 3)),
            ("flag", [3], "BOOL", bytes([1, 0, 1])),
        ]
    )

    parsed = parse_exchange("auto", request, b"", request_header_length=length)

    assert parsed.columns == {
        "city": ["paris", "", "k\u00f6ln"],
        "half": [0.5, 1.5, -2.0],
        "count": [1, -2, 3],
        "flag": [True, False, True],
    }


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (struct.pack("<I", 5) + b"abc", "bad_shape"),  # an element longer than the tensor
        (struct.pack("<I", 1) + b"a" + b"extra", "bad_shape"),  # bytes left over
        (struct.pack("<I", 2) + b"\xff\xfe", "unsupported_type"),  # not UTF-8
    ],
)
def test_broken_binary_strings_are_counted_by_reason(raw: bytes, reason: str) -> None:
    request, length = binary_request([("city", [1], "BYTES", raw)])

    with pytest.raises(ParseError) as caught:
        parse_exchange("auto", request, b"", request_header_length=length)

    assert caught.value.reason == reason


def test_non_finite_numbers_become_missing_values() -> None:
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [2],
                    "datatype": "FP64",
                    "parameters": {"binary_data_size": 16},
                }
            ]
        }
    ).encode()
    request = header + struct.pack("<2d", float("nan"), 5.0)

    parsed = parse_exchange("auto", request, b"", request_header_length=str(len(header)))

    assert parsed.columns == {"x": [None, 5.0]}


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"inputs": [tensor("x", [2, 2], [1, 2, 3])]}, "bad_shape"),
        ({"inputs": [tensor("x", [1, 1, 1], [1])]}, "bad_shape"),
        ({"inputs": [tensor("x", [2], [1, 2]), tensor("z", [3], [1, 2, 3])]}, "row_mismatch"),
        ({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]}, "missing_field"),
        ({"inputs": [tensor("x", [1], [{"nested": "object"}])]}, "unsupported_type"),
        ({"inputs": [tensor("x", [0], [])]}, "empty"),
    ],
)
def test_inconsistent_tensors_are_rejected_with_a_reason(document: Any, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_exchange("open-inference-v2", body(document), b"")

    assert caught.value.reason == reason


def test_prediction_rows_must_match_the_input_rows() -> None:
    request = body({"inputs": [tensor("x", [2], [1, 2])]})
    response = body({"outputs": [tensor("y", [3], [0, 1, 0])]})

    with pytest.raises(ParseError) as caught:
        parse_exchange("auto", request, response)

    assert caught.value.reason == "row_mismatch"


def test_an_error_response_keeps_the_rows_without_predictions() -> None:
    request = body({"inputs": [tensor("x", [1], [7])]})

    parsed = parse_exchange("auto", request, b'{"error": "model not ready"}')

    assert parsed.columns == {"x": [7]}
    assert parsed.predictions is None
