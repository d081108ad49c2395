"""Names that line up: whatever the client library calls the inputs, the rows carry the
baseline's feature names, and class indices become class names (issue 22)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubedrift.payloads import ParseOptions, parse_exchange
from kubedrift.payloads.model import Naming, Value
from kubedrift.payloads.naming import class_name

IRIS = ("sepal_length", "sepal_width", "petal_length", "petal_width")
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
NAMING = Naming(
    positions=IRIS,
    renames=(("sepal length (cm)", "sepal_length"), ("petal-width", "petal_width")),
    classes=("setosa", "versicolor", "virginica"),
)
EXPECTED = {name: [row[j] for row in ROWS] for j, name in enumerate(IRIS)}
PROBA = {
    "outputs": [
        {
            "name": "predict_proba",
            "shape": [2, 3],
            "datatype": "FP64",
            "data": [0.9, 0.05, 0.05, 0.1, 0.2, 0.7],
        }
    ]
}


def matrix_request(name: str) -> dict[str, Any]:
    data = [v for row in ROWS for v in row]
    return {"inputs": [{"name": name, "shape": [2, 4], "datatype": "FP64", "data": data}]}


def parse(request: Any, response: Any, naming: Naming = NAMING) -> tuple[dict[str, Any], Any]:
    parsed = parse_exchange(
        "auto",
        json.dumps(request).encode(),
        json.dumps(response).encode(),
        ParseOptions(naming=naming),
    )
    return dict(parsed.columns), parsed.predictions


@pytest.mark.parametrize(
    "tensor",
    [
        "input-1",  # MLServer's NumpyRequestCodec
        "input-0",  # KServe's examples
        "predict",  # MLServer's own scikit-learn example
    ],
)
def test_one_matrix_tensor_is_named_by_position_whatever_its_name(tensor: str) -> None:
    assert parse(matrix_request(tensor), PROBA) == (EXPECTED, ["setosa", "virginica"])


def test_one_tensor_per_column_is_renamed_by_name() -> None:
    # the pandas codec: one [n] tensor per column, named after the DataFrame's columns
    names = ["sepal length (cm)", "sepal_width", "petal_length", "petal-width"]
    request = {
        "parameters": {"content_type": "pd"},
        "inputs": [
            {"name": name, "shape": [2], "datatype": "FP64", "data": [row[j] for row in ROWS]}
            for j, name in enumerate(names)
        ],
    }
    response = {"outputs": [{"name": "predict", "shape": [2], "datatype": "INT64", "data": [0, 2]}]}

    assert parse(request, response) == (EXPECTED, ["setosa", "virginica"])


def test_kserve_v1_list_rows_are_named_by_position() -> None:
    assert parse({"instances": ROWS}, {"predictions": [1, 2]}) == (
        EXPECTED,
        ["versicolor", "virginica"],
    )


def test_kserve_v1_rows_with_a_missing_cell_are_named_by_position_too() -> None:
    rows = [[5.1, None, 1.4, 0.2]]
    columns, _ = parse({"instances": rows}, {"predictions": [0]})

    assert columns == {"sepal_length": [5.1], "sepal_width": [None], "petal_length": [1.4],
                       "petal_width": [0.2]}  # fmt: skip


def test_a_tensor_of_another_width_keeps_its_own_names() -> None:
    request = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]}

    assert parse(request, {"outputs": []})[0] == {"x-0": [1], "x-1": [2]}


def test_renames_that_would_repeat_a_name_leave_the_block_as_it_was() -> None:
    naming = Naming(renames=(("x-0", "a"), ("x-1", "a")))
    request = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]}

    assert parse(request, {}, naming)[0] == {"x-0": [1], "x-1": [2]}


def test_without_naming_the_payloads_own_names_stay() -> None:
    assert parse(matrix_request("input-1"), PROBA, Naming()) == (
        {f"input-1-{j}": [row[j] for row in ROWS] for j in range(4)},
        [0, 2],
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "high"),
        (1, "low"),
        (1.0, "low"),  # an integral float, as FP64 outputs carry class indices
        (2, 2),  # out of range: left as it is (an unknown class to the drift test)
        (-1, -1),
        (0.5, 0.5),
        (True, True),  # a boolean prediction is not an index
        ("high", "high"),
        (None, None),
    ],
)
def test_class_indices_in_range_become_names(value: Value, expected: Value) -> None:
    assert class_name(value, ("high", "low")) == expected
