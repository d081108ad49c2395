"""KServe v1, Seldon v1, MLflow and plain JSON payloads -> columns, predictions and ids."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubedrift.payloads import JsonPaths, ParseError, ParseOptions, parse_exchange


def body(document: Any) -> bytes:
    return json.dumps(document).encode()


NAMED = ParseOptions(feature_names=("age", "income"))


def test_kserve_v1_instance_rows_use_the_configured_feature_names() -> None:
    parsed = parse_exchange(
        "kserve-v1",
        body({"instances": [[30, 1.5], [40, 2.5]]}),
        body({"predictions": [1, 0]}),
        NAMED,
    )

    assert parsed.columns == {"age": [30, 40], "income": [1.5, 2.5]}
    assert parsed.predictions == [1, 0]


def test_kserve_v1_positional_columns_are_named_by_index_without_configured_names() -> None:
    parsed = parse_exchange(
        "auto", body({"instances": [[1, 2]]}), body({"predictions": [[0.2, 0.8]]})
    )

    assert parsed.protocol == "kserve-v1"
    assert parsed.columns == {"0": [1], "1": [2]}
    assert parsed.predictions == [1]


def test_kserve_v1_object_rows_fill_missing_keys_with_none() -> None:
    parsed = parse_exchange("auto", body({"instances": [{"a": 1}, {"a": 2, "b": "x"}]}), b"")

    assert parsed.columns == {"a": [1, 2], "b": [None, "x"]}


def test_kserve_v1_columnar_inputs_object() -> None:
    parsed = parse_exchange("auto", body({"inputs": {"a": [1, 2], "b": ["u", "v"]}}), b"")

    assert parsed.columns == {"a": [1, 2], "b": ["u", "v"]}


def test_seldon_ndarray_with_names_and_puid() -> None:
    request = body(
        {"data": {"names": ["a", "b"], "ndarray": [[1, 2], [3, 4]]}, "meta": {"puid": "p-1"}}
    )
    response = body({"data": {"names": ["no", "yes"], "ndarray": [[0.9, 0.1], [0.2, 0.8]]}})

    parsed = parse_exchange("auto", request, response)

    assert parsed.protocol == "seldon-v1"
    assert parsed.columns == {"a": [1, 3], "b": [2, 4]}
    assert parsed.predictions == ["no", "yes"]
    assert parsed.request_id == "p-1"


def test_seldon_tensor_is_reshaped_into_rows() -> None:
    request = body({"data": {"tensor": {"shape": [2, 2], "values": [1, 2, 3, 4]}}})
    response = body({"data": {"tensor": {"shape": [2], "values": [5, 6]}}, "meta": {"puid": "p-2"}})

    parsed = parse_exchange("seldon-v1", request, response)

    assert parsed.columns == {"0": [1, 3], "1": [2, 4]}
    assert parsed.predictions == [5, 6]
    assert parsed.request_id == "p-2"


def test_mlflow_dataframe_split_and_records_give_the_same_columns() -> None:
    split = body({"dataframe_split": {"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]}})
    records = body({"dataframe_records": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]})
    response = body({"predictions": [0.5, 0.7]})

    from_split = parse_exchange("auto", split, response)
    from_records = parse_exchange("auto", records, response)

    assert from_split.protocol == from_records.protocol == "mlflow"
    assert from_split.columns == from_records.columns == {"a": [1, 2], "b": ["x", "y"]}
    assert from_split.predictions == [0.5, 0.7]


def test_mlflow_1_bare_list_response_is_read_as_predictions() -> None:
    parsed = parse_exchange("mlflow", body({"instances": [[1], [2]]}), body([3, 4]))

    assert parsed.predictions == [3, 4]


MLFLOW_REQUEST = body({"dataframe_split": {"columns": ["a"], "data": [[1], [2]]}})
LABEL = ParseOptions(prediction_output="label")


@pytest.mark.parametrize(
    ("response", "options", "expected"),
    [
        # a model returning an array or a list (MLflow 2 and later)
        ({"predictions": ["high", "low"]}, ParseOptions(), ["high", "low"]),
        # a pyfunc returning a DataFrame: one object per row, the configured column
        (
            {"predictions": [{"label": "high", "p": 0.9}, {"label": "low", "p": 0.2}]},
            LABEL,
            ["high", "low"],
        ),
        # a DataFrame (or a Series) with one column: that column
        ({"predictions": [{"0": "high"}, {"0": "low"}]}, ParseOptions(), ["high", "low"]),
        # a dict of arrays: an object of columns
        ({"predictions": {"label": ["high", "low"], "p": [0.9, 0.2]}}, LABEL, ["high", "low"]),
        ({"predictions": {"label": ["high", "low"]}}, ParseOptions(), ["high", "low"]),
        # MLflow 1: the records alone
        ([{"label": "high"}, {"label": "low"}], ParseOptions(), ["high", "low"]),
    ],
)
def test_mlflow_predictions_in_each_shape_the_scoring_server_answers(
    response: Any, options: ParseOptions, expected: list[str]
) -> None:
    parsed = parse_exchange("mlflow", MLFLOW_REQUEST, body(response), options)

    assert parsed.predictions == expected
    assert parsed.columns == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("response", "options", "detail"),
    [
        (
            {"predictions": [{"label": "high", "p": 0.9}, {"label": "low", "p": 0.2}]},
            ParseOptions(),
            "predictions has columns label, p: set payload.predictionOutput",
        ),
        (
            {"predictions": {"class": ["high", "low"]}},
            LABEL,
            "predictions has no column label (it has class)",
        ),
        (
            {"predictions": [{"label": "high"}, {"p": 0.2}]},
            LABEL,
            "predictions[1].label",
        ),
    ],
)
def test_mlflow_object_predictions_without_a_clear_column_are_a_counted_reason(
    response: Any, options: ParseOptions, detail: str
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_exchange("mlflow", MLFLOW_REQUEST, body(response), options)

    assert caught.value.reason == "missing_field"
    assert detail in str(caught.value)


def test_mlflow_column_predictions_must_have_one_value_per_row() -> None:
    with pytest.raises(ParseError) as caught:
        parse_exchange("mlflow", MLFLOW_REQUEST, body({"predictions": {"label": ["high"]}}))

    assert caught.value.reason == "row_mismatch"


def test_mlflow_request_with_two_input_formats_is_rejected() -> None:
    with pytest.raises(ParseError) as caught:
        parse_exchange("mlflow", body({"instances": [[1]], "dataframe_records": []}), b"")

    assert caught.value.reason == "unsupported_type"


def test_plain_json_reads_configured_paths_in_request_and_response() -> None:
    options = ParseOptions(
        json_paths=JsonPaths(
            features="request.payload", prediction="response.result.score", id="request.trace"
        )
    )
    request = body({"payload": {"a": 1, "b": "z"}, "trace": 42})

    parsed = parse_exchange("json", request, body({"result": {"score": 0.25}}), options)

    assert parsed.columns == {"a": [1], "b": ["z"]}
    assert parsed.predictions == [0.25]
    assert parsed.request_id == "42"


def test_plain_json_missing_feature_path_is_a_missing_field() -> None:
    options = ParseOptions(json_paths=JsonPaths(features="request.rows.0"))

    with pytest.raises(ParseError) as caught:
        parse_exchange("json", body({"rows": []}), b"", options)

    assert caught.value.reason == "missing_field"


@pytest.mark.parametrize(
    ("request_body", "reason"),
    [
        (b"\xff\xfe not json", "invalid_json"),
        (b'{"unrelated": true}', "unknown_protocol"),
        (b"[1, 2, 3]", "unknown_protocol"),
        (b'{"instances": []}', "empty"),
        (b'{"inputs": [[]]}', "empty"),
        (b'{"instances": [{}, {}]}', "empty"),
        (b'{"dataframe_records": [{}]}', "empty"),
        (b'{"instances": [[1, 2], [3]]}', "bad_shape"),
        (b"[" * 100_000, "invalid_json"),
    ],
)
def test_auto_detection_rejects_unusable_bodies_with_a_reason(
    request_body: bytes, reason: str
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_exchange("auto", request_body, b"")

    assert caught.value.reason == reason
