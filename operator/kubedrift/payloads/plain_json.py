"""Any JSON API, read through configured dotted paths (``JsonPaths`` in the model module).

Paths start at ``request`` or ``response`` and walk object keys and list indices. The features
path may point at one row (an object of scalars), a list of rows, or an object of columns; the
prediction path at a scalar (one row) or a list with one entry per row; the id path at a string or
an integer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubedrift.payloads.errors import ParseError
from kubedrift.payloads.model import Parsed, ParseOptions, Value
from kubedrift.payloads.tables import (
    RequestBody,
    columns_from_object,
    columns_from_rows,
    load_json,
    load_request,
    predictions_from_list,
    reduce_prediction,
    row_count,
    text_id,
)


def resolve(documents: Mapping[str, Any], path: str) -> Any:
    """Walk ``path`` (``request.a.0.b``); a missing step is ``missing_field``."""
    node: Any = documents
    for step in path.split("."):
        if isinstance(node, Mapping) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            raise ParseError("missing_field", path)
    return node


def _columns(features: Any, options: ParseOptions) -> Mapping[str, list[Value]]:
    if isinstance(features, list):
        return columns_from_rows(features, options, "features")
    if isinstance(features, Mapping):
        if features and all(isinstance(v, list) for v in features.values()):
            return columns_from_object(features, "features")
        return columns_from_rows([features], options, "features")
    raise ParseError("unsupported_type", "features")


def parse(request_body: RequestBody, response_body: bytes, options: ParseOptions) -> Parsed:
    paths = options.json_paths
    documents: dict[str, Any] = {"request": load_request(request_body)}
    if (paths.prediction or "").startswith("response") or (paths.id or "").startswith("response"):
        try:
            documents["response"] = load_json(response_body)
        except ParseError:
            documents["response"] = None
    table = _columns(resolve(documents, paths.features), options)
    rows = row_count(table)
    predictions: list[Value] | None = None
    if paths.prediction:
        try:
            found = resolve(documents, paths.prediction)
        except ParseError:
            found = None
        if isinstance(found, list) and not (rows == 1 and len(found) != 1):
            predictions = predictions_from_list(found, rows, options, paths.prediction)
        elif found is not None:
            if rows != 1:
                raise ParseError("row_mismatch", paths.prediction)
            predictions = [reduce_prediction(found, options)]
    request_id = None
    if paths.id:
        try:
            request_id = text_id(resolve(documents, paths.id))
        except ParseError:
            request_id = None
    return Parsed("json", table, predictions, rows, request_id)
