"""KServe v1 (TF-Serving REST): ``instances`` rows or ``inputs`` columns -> ``predictions``.

``instances`` is a list of rows: objects (named columns), lists (positional columns named by
``ParseOptions.feature_names``) or scalars (one column). ``inputs`` is either such a list or an
object of columns. The response's ``predictions`` holds one entry per row; score vectors are
reduced by ``ParseOptions.prediction_reduce``. A response that is a bare list is read the same way
(MLflow 1.x answers like that).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubedrift.payloads.errors import ParseError
from kubedrift.payloads.model import Parsed, ParseOptions, ProtocolName, Value
from kubedrift.payloads.tables import (
    RequestBody,
    as_object,
    columns_from_object,
    columns_from_rows,
    load_json,
    load_request,
    predictions_from_list,
    row_count,
)


def looks_like(request: Any) -> bool:
    return isinstance(request, Mapping) and ("instances" in request or "inputs" in request)


def columns(request: Mapping[str, Any], options: ParseOptions) -> Mapping[str, list[Value]]:
    """The columns of an ``instances`` or ``inputs`` request body."""
    if "instances" in request:
        instances = request["instances"]
        if not isinstance(instances, list):
            raise ParseError("unsupported_type", "instances is not a list")
        return columns_from_rows(instances, options, "instances")
    if "inputs" not in request:
        raise ParseError("missing_field", "instances")
    inputs = request["inputs"]
    if isinstance(inputs, Mapping):
        return columns_from_object(inputs, "inputs")
    if isinstance(inputs, list):
        return columns_from_rows(inputs, options, "inputs")
    raise ParseError("unsupported_type", "inputs")


def predictions(response_body: bytes, rows: int, options: ParseOptions) -> list[Value] | None:
    """``predictions`` (or a bare list) with one entry per row; ``None`` for a non-JSON response."""
    found = predictions_document(response_body)
    if found is None:
        return None
    document, where = found
    return predictions_from_list(document, rows, options, where)


def predictions_document(response_body: bytes) -> tuple[Any, str] | None:
    """The response's ``predictions`` (or the whole document when it is not an object) and
    where it was; ``None`` for a response that is not JSON or an object without
    ``predictions``.

    >>> predictions_document(b'{"predictions": [1, 0]}'), predictions_document(b'[1]')
    (([1, 0], 'predictions'), ([1], 'response'))
    >>> predictions_document(b'{"outputs": []}') is None, predictions_document(b'<html>') is None
    (True, True)
    """
    try:
        response = load_json(response_body)
    except ParseError:
        return None
    if isinstance(response, Mapping):
        if "predictions" not in response:
            return None
        return response["predictions"], "predictions"
    return response, "response"


def parse(
    request_body: RequestBody,
    response_body: bytes,
    options: ParseOptions,
    protocol: ProtocolName = "kserve-v1",
) -> Parsed:
    request = as_object(load_request(request_body), "request")
    table = columns(request, options)
    rows = row_count(table)
    return Parsed(protocol, table, predictions(response_body, rows, options), rows)
