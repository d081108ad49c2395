"""MLflow scoring server: ``POST /invocations`` with exactly one of four input shapes.

``dataframe_split`` (``{"columns", "data"}``), ``dataframe_records`` (a list of objects),
``instances`` and ``inputs`` (as in KServe v1). Predictions come back as ``{"predictions": [...]}``
(MLflow 2) or a bare list (MLflow 1); both are read.
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
    return Parsed("mlflow", table, kserve_v1.predictions(response_body, rows, options), rows)
