"""MLflow scoring server: ``POST /invocations`` with exactly one of four input shapes.

``dataframe_split`` (``{"columns", "data"}``), ``dataframe_records`` (a list of objects),
``instances`` and ``inputs`` (as in KServe v1). The scoring server answers
``{"predictions": ...}`` (MLflow 2 and later) or the predictions alone (MLflow 1), and the
predictions take the shape of what the model returned (MLflow's ``_get_jsonable_obj`` with
``orient="records"``):

- a list, one value (or score vector) per row: an array or a list;
- a list of objects, one per row: a DataFrame (or a Series, whose one column is its name);
- an object of columns, each a list with one value per row: a dict of arrays.

From objects and columns the prediction is the column ``payload.predictionOutput`` names, else
the only column; several columns and no configured one is a ``missing_field`` error naming
them, counted like every unparsable exchange.

>>> options = ParseOptions(prediction_output="label")
>>> predictions(b'{"predictions": [{"label": "a", "p": 0.9}]}', 1, options)
['a']
>>> predictions(b'{"predictions": {"label": ["a", "b"]}}', 2, ParseOptions())
['a', 'b']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubedrift.payloads import kserve_v1
from kubedrift.payloads.errors import ParseError
from kubedrift.payloads.model import Parsed, ParseOptions, Value
from kubedrift.payloads.tables import (
    RequestBody,
    as_list,
    as_object,
    columns_from_rows,
    load_request,
    predictions_from_list,
    row_count,
    scalar,
)

_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def looks_like(request: Any) -> bool:
    return isinstance(request, Mapping) and (
        "dataframe_split" in request or "dataframe_records" in request
    )


def _split(frame: Any, options: ParseOptions) -> Mapping[str, list[Value]]:
    frame = as_object(frame, "dataframe_split")
    if "data" not in frame:
        raise ParseError("missing_field", "dataframe_split.data")
    data = as_list(frame["data"], "dataframe_split.data")
    names = [str(c) for c in as_list(frame.get("columns", []), "dataframe_split.columns")]
    if not data:
        raise ParseError("empty", "dataframe_split.data")
    width = len(names) if names else len(as_list(data[0], "dataframe_split.data[0]"))
    if not names and width > options.embedding_width:  # unnamed wide rows: one embedding block
        return columns_from_rows(data, options, "dataframe_split.data")
    names = names or [str(i) for i in range(width)]
    table: dict[str, list[Value]] = {name: [] for name in names}
    for index, row in enumerate(data):
        cells = as_list(row, f"dataframe_split.data[{index}]")
        if len(cells) != width:
            raise ParseError("bad_shape", f"dataframe_split.data[{index}]")
        for name, cell in zip(names, cells, strict=True):
            table[name].append(scalar(cell, f"dataframe_split.data[{index}]"))
    return table


def parse(request_body: RequestBody, response_body: bytes, options: ParseOptions) -> Parsed:
    request = as_object(load_request(request_body), "request")
    present = [key for key in _KEYS if key in request]
    if len(present) != 1:
        raise ParseError("missing_field" if not present else "unsupported_type", "input format")
    if present[0] == "dataframe_split":
        table: Mapping[str, list[Value]] = _split(request["dataframe_split"], options)
    elif present[0] == "dataframe_records":
        records = as_list(request["dataframe_records"], "dataframe_records")
        if records and not isinstance(records[0], Mapping):
            raise ParseError("unsupported_type", "dataframe_records[0]")
        table = columns_from_rows(records, options, "dataframe_records")
    else:
        table = kserve_v1.columns(request, options)
    rows = row_count(table)
    return Parsed("mlflow", table, predictions(response_body, rows, options), rows)


def predictions(response_body: bytes, rows: int, options: ParseOptions) -> list[Value] | None:
    """The per-row predictions of a scoring server response (see the module); ``None`` for a
    response that is not JSON or has no ``predictions``."""
    found = kserve_v1.predictions_document(response_body)
    if found is None:
        return None
    response = found[0]
    if isinstance(response, Mapping):  # a dict of arrays: columns
        column = _pick(list(response), options)
        return predictions_from_list(response[column], rows, options, f"predictions.{column}")
    items = as_list(response, "predictions")
    if items and all(isinstance(item, Mapping) for item in items):  # records
        column = _pick(list(items[0]), options)
        picked = []
        for index, item in enumerate(items):
            if column not in item:
                raise ParseError("missing_field", f"predictions[{index}].{column}")
            picked.append(item[column])
        return predictions_from_list(picked, rows, options, f"predictions[].{column}")
    return predictions_from_list(items, rows, options, "predictions")


def _pick(columns: list[Any], options: ParseOptions) -> str:
    """The prediction column: the configured output, else the only column."""
    names = [str(c) for c in columns]
    wanted = options.prediction_output
    if wanted is not None:
        if wanted not in names:
            raise ParseError(
                "missing_field", f"predictions has no column {wanted} (it has {', '.join(names)})"
            )
        return wanted
    if len(names) != 1:
        raise ParseError(
            "missing_field",
            f"predictions has columns {', '.join(names) or 'none'}: set payload.predictionOutput",
        )
    return names[0]
