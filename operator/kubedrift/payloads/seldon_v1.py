"""Seldon Core v1: ``data.ndarray`` rows or ``data.tensor`` (``shape``, ``values``), with ``names``.

Columns are named by ``data.names`` when the request has them, else by
``ParseOptions.feature_names``, else by position. The response mirrors the request; its rows are
the predictions (a score vector per row is reduced, and ``argmax`` maps to the response's
``names`` when it lists one name per score). The id is ``meta.puid`` of the request or response.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kubedrift.payloads.errors import ParseError
from kubedrift.payloads.model import Parsed, ParseOptions, Value
from kubedrift.payloads.tables import (
    RequestBody,
    as_list,
    as_object,
    columns_from_rows,
    flatten,
    load_json,
    load_request,
    predictions_from_list,
    row_count,
    text_id,
)


def looks_like(request: Any) -> bool:
    if not isinstance(request, Mapping):
        return False
    data = request.get("data")
    return isinstance(data, Mapping) and ("ndarray" in data or "tensor" in data)


def _rows(data: Mapping[str, Any], where: str) -> list[Any]:
    """The rows of a ``data`` object: ``ndarray`` as given, ``tensor`` reshaped to 2-D."""
    if "ndarray" in data:
        return as_list(data["ndarray"], f"{where}.ndarray")
    if "tensor" not in data:
        raise ParseError("missing_field", f"{where}.ndarray")
    tensor = as_object(data["tensor"], f"{where}.tensor")
    shape = as_list(tensor.get("shape"), f"{where}.tensor.shape")
    values = flatten(tensor.get("values"), f"{where}.tensor.values")
    if not all(isinstance(d, int) and d >= 0 for d in shape) or not 1 <= len(shape) <= 2:
        raise ParseError("bad_shape", f"{where}.tensor.shape")
    width = shape[1] if len(shape) == 2 else 1
    if shape[0] * width != len(values):
        raise ParseError("bad_shape", f"{where}.tensor")
    if len(shape) == 1:
        return values
    return [values[i * width : (i + 1) * width] for i in range(shape[0])]


def _puid(body: Any) -> str | None:
    if isinstance(body, Mapping) and isinstance(body.get("meta"), Mapping):
        return text_id(body["meta"].get("puid"))
    return None


def parse(request_body: RequestBody, response_body: bytes, options: ParseOptions) -> Parsed:
    request = as_object(load_request(request_body), "request")
    data = as_object(request.get("data"), "data")
    names = data.get("names")
    if isinstance(names, list) and names:
        options = replace(options, feature_names=tuple(str(n) for n in names))
    table = columns_from_rows(_rows(data, "data"), options, "data")
    rows = row_count(table)
    try:
        response = load_json(response_body)
    except ParseError:
        response = None
    predictions: list[Value] | None = None
    if isinstance(response, Mapping) and isinstance(response.get("data"), Mapping):
        response_data = response["data"]
        labels = response_data.get("names") if isinstance(response_data.get("names"), list) else []
        predictions = predictions_from_list(
            _rows(response_data, "response.data"), rows, options, "response.data", labels
        )
    return Parsed("seldon-v1", table, predictions, rows, _puid(request) or _puid(response))
