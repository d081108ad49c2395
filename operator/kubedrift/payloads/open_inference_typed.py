"""The usual OIP v2 exchange, decoded straight into its expected shape (msgspec, `fast` extra).

Almost every request a monitor sees looks the same: ``inputs`` holds named tensors whose ``data``
is a flat list of numbers, and the answer's ``outputs`` hold flat lists of scalars. Decoding the
bodies against that shape checks every type in C while decoding: numbers arrive as ints and finite
floats (msgspec refuses numbers beyond the float range and JSON has no NaN), so nothing is looked
at again in Python, and no generic dict or list is built for the parts that are used.

:func:`parse` answers ``None`` for anything else (binary tensors, nested ``data``, a missing field,
an unusual shape, a body that does not decode), and the caller then runs the general parser of
:mod:`kubedrift.payloads.open_inference`, which decides as it always does. When :func:`parse` does
answer, its result is the general parser's, value for value and type for type; the tests compare
the two on generated exchanges. Without msgspec this module does not import, and the general
parser reads everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import msgspec

from kubedrift.payloads.model import Parsed, ParseOptions, RowMajorColumns, Value, tensor_layout
from kubedrift.payloads.open_inference import merge_tensors, parse_response
from kubedrift.payloads.tables import reduce_prediction, text_id


class Tensor(msgspec.Struct):
    name: str
    shape: list[int]
    data: list[int | float]
    parameters: dict[str, Any] | None = None


class Request(msgspec.Struct):
    inputs: list[Tensor]
    id: Any = None


class Output(msgspec.Struct):
    shape: list[int]
    data: list[int | float | str | bool | None]
    name: Any = None
    parameters: dict[str, Any] | None = None


class Response(msgspec.Struct):
    outputs: list[Output]
    id: Any = None


_decode_request = msgspec.json.Decoder(Request).decode
_decode_response = msgspec.json.Decoder(Response).decode


def parse(request_body: bytes, response_body: bytes, options: ParseOptions) -> Parsed | None:
    """The exchange as :func:`kubedrift.payloads.open_inference.parse` reads it, or ``None`` when
    it is not the usual kind (the general parser then decides)."""
    if b'"inputs"' not in request_body:  # not OIP, or its keys are escaped: the general path
        return None
    try:
        request = _decode_request(request_body)
    except (ValueError, RecursionError):  # msgspec's DecodeError and ValidationError
        return None
    columns = _columns(request.inputs)
    if columns is None:
        return None
    table, rows = columns
    predictions: list[Value] | None = None
    try:
        response = _decode_response(response_body)
    except (ValueError, RecursionError):
        pass
    else:
        predictions = _predictions(response, rows, options)
        response_id = text_id(response.id)
    if predictions is None:
        predictions, response_id = parse_response(response_body, None, rows, options)
    return Parsed("open-inference-v2", table, predictions, rows, text_id(request.id) or response_id)


def _columns(inputs: list[Tensor]) -> tuple[Mapping[str, list[Value]], int] | None:
    """The request's columns and row count, or None where the general parser must look."""
    tables: list[Mapping[str, list[Value]]] = []
    rows = -1
    for tensor in inputs:
        shape = tensor.shape
        if len(shape) == 1:
            count, width = shape[0], 1
        elif len(shape) == 2:
            count, width = shape
        else:
            return None
        if count <= 0 or width <= 0 or (rows >= 0 and count != rows):
            return None
        parameters = tensor.parameters
        if parameters is not None and "binary_data_size" in parameters:
            return None
        data = cast(list[Value], tensor.data)  # ints and finite floats
        if len(data) != count * width:
            return None
        rows = count
        if width == 1:
            tables.append({tensor.name: data})
        else:
            tables.append(RowMajorColumns(tensor_layout(tensor.name, width), data))
    if not tables:
        return None
    return merge_tensors(tables), rows


def _predictions(response: Response, rows: int, options: ParseOptions) -> list[Value] | None:
    """The predictions as the general parser finds them, or None where it must look itself (the
    typed response always has some when the general parser would find them)."""
    outputs = response.outputs
    if not outputs:
        return None
    chosen = outputs[0]
    if options.prediction_output is not None:
        named = [output for output in outputs if output.name == options.prediction_output]
        if not named:
            return None
        chosen = named[0]
    for output in outputs:  # as the general parser checks them: up to the chosen one
        shape = output.shape
        if not 1 <= len(shape) <= 2 or min(shape) < 0:
            return None
        parameters = output.parameters
        if parameters is not None and "binary_data_size" in parameters:
            return None
        if shape[0] != rows:
            if output is chosen:
                return None
            continue
        width = shape[1] if len(shape) == 2 else 1
        values: list[Value] = output.data
        if len(values) != rows * width:
            return None
        if output is chosen:
            if width == 1:
                return values
            return [
                reduce_prediction(values[i * width : (i + 1) * width], options) for i in range(rows)
            ]
    return None  # pragma: no cover - the loop reaches the chosen output
