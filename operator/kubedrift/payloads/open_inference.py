"""Open Inference Protocol v2 (KServe v2, Triton, MLServer, Seldon v2) over REST.

Request ``inputs`` become columns: a tensor of shape ``[n]`` or ``[n, 1]`` is one column named
after it (MLServer's ``content_type: pd`` frames are a list of those); a tensor of shape ``[n, d]``
becomes ``<name>-0 .. <name>-(d-1)``. The prediction comes from the configured output (default:
the first), one value per row, score vectors reduced by ``ParseOptions.prediction_reduce``. The id
is the request's ``id``, else the response's.

The binary tensor extension is understood: when the exchange carries
``Inference-Header-Content-Length``, the JSON part is that many bytes and tensors with
``parameters.binary_data_size`` are read, little-endian and in order, from what follows.

Documents come from :func:`~kubedrift.payloads.tables.load_json`, so JSON objects are ``dict``
(checked as such: a ``Mapping`` check goes through the ABC machinery, a few per request).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from kubedrift.payloads.errors import ParseError
from kubedrift.payloads.model import (
    BlockedColumns,
    Parsed,
    ParseOptions,
    RowMajorColumns,
    Value,
    tensor_layout,
)
from kubedrift.payloads.tables import (
    Decoded,
    RequestBody,
    as_list,
    as_object,
    flatten,
    load_json,
    load_request,
    reduce_prediction,
    text_id,
)

#: struct format characters of the fixed-size OIP datatypes (little-endian).
_BINARY_FORMATS = {
    "BOOL": "?", "UINT8": "B", "UINT16": "H", "UINT32": "I", "UINT64": "Q",
    "INT8": "b", "INT16": "h", "INT32": "i", "INT64": "q",
    "FP16": "e", "FP32": "f", "FP64": "d",
}  # fmt: skip


def looks_like(request: Any) -> bool:
    """True for a body whose ``inputs`` is a list of named tensors carrying ``data`` or a shape."""
    if not isinstance(request, dict):
        return False
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        return False
    for tensor in inputs:
        if not isinstance(tensor, dict):
            return False
        if "name" not in tensor or ("data" not in tensor and "shape" not in tensor):
            return False
    return True


def split_binary(body: RequestBody, header_length: int | None) -> tuple[Any, bytes]:
    """The JSON document and the binary tail of a body (the tail is empty without the extension)."""
    if header_length is None or isinstance(body, Decoded):
        return load_request(body), b""
    if header_length < 0 or header_length > len(body):
        raise ParseError("bad_shape", "Inference-Header-Content-Length exceeds the body")
    return load_json(body[:header_length]), body[header_length:]


def _shape(tensor: Mapping[str, Any], where: str) -> list[int]:
    shape = as_list(tensor.get("shape"), f"{where}.shape")
    for dimension in shape:
        if type(dimension) is not int or dimension < 0:  # JSON's ints; not bools
            raise ParseError("bad_shape", f"{where}.shape")
    if len(shape) == 0 or len(shape) > 2:
        raise ParseError("bad_shape", f"{where} has {len(shape)} dimensions")
    return shape


class _Tail:
    """Reads binary tensors in order from the bytes after the JSON header."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, tensor: Mapping[str, Any], count: int, where: str) -> list[Value]:
        size = as_object(tensor.get("parameters"), f"{where}.parameters").get("binary_data_size")
        if not isinstance(size, int) or size < 0 or self.offset + size > len(self.data):
            raise ParseError("bad_shape", f"{where}.binary_data_size")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        if tensor.get("datatype") == "BYTES":
            return _binary_strings(chunk, count, where)
        code = _BINARY_FORMATS.get(str(tensor.get("datatype")))
        if code is None:
            raise ParseError("binary_unsupported", f"{where}.datatype")
        if struct.calcsize(code) * count != size:
            raise ParseError("bad_shape", f"{where} binary size does not match the shape")
        values = struct.unpack(f"<{count}{code}", chunk)
        return [v if not isinstance(v, float) or math.isfinite(v) else None for v in values]


def _binary_strings(chunk: bytes, count: int, where: str) -> list[Value]:
    """A binary BYTES tensor: ``count`` elements, each a 4-byte little-endian length and that
    many bytes, read as UTF-8 (``unsupported_type`` when an element is not UTF-8)."""
    values: list[Value] = []
    offset = 0
    for _ in range(count):
        if offset + 4 > len(chunk):
            raise ParseError("bad_shape", f"{where} binary size does not match the shape")
        (length,) = struct.unpack_from("<I", chunk, offset)
        offset += 4
        if offset + length > len(chunk):
            raise ParseError("bad_shape", f"{where} binary size does not match the shape")
        try:
            values.append(chunk[offset : offset + length].decode())
        except UnicodeDecodeError as error:
            raise ParseError(
                "unsupported_type", f"{where} holds bytes that are not UTF-8"
            ) from error
        offset += length
    if offset != len(chunk):
        raise ParseError("bad_shape", f"{where} binary size does not match the shape")
    return values


def _tensor_values(tensor: Mapping[str, Any], count: int, tail: _Tail, where: str) -> list[Value]:
    parameters = tensor.get("parameters")
    if isinstance(parameters, dict) and "binary_data_size" in parameters:
        return tail.take(tensor, count, where)
    if "data" not in tensor:
        raise ParseError("missing_field", f"{where}.data")
    values = flatten(tensor["data"], f"{where}.data")
    if len(values) != count:
        raise ParseError("bad_shape", f"{where} has {len(values)} values for {count}")
    return values


def _tensor_columns(tensor: Any, tail: _Tail, where: str) -> tuple[Mapping[str, list[Value]], int]:
    tensor = as_object(tensor, where)
    name = tensor.get("name")
    if not isinstance(name, str):
        raise ParseError("missing_field", f"{where}.name")
    shape = _shape(tensor, where)
    rows = shape[0]
    width = shape[1] if len(shape) == 2 else 1
    if width == 0:
        raise ParseError("empty", f"{where} has no columns")
    values = _tensor_values(tensor, rows * width, tail, where)
    if len(shape) == 1 or width == 1:
        return {name: values}, rows
    return RowMajorColumns(tensor_layout(name, width), values), rows


def merge_tensors(tables: Sequence[Mapping[str, list[Value]]]) -> Mapping[str, list[Value]]:
    """The columns of all input tensors: one ``[n, d]`` tensor (the common request) stays a
    row-major block; several are merged, a later tensor's column replacing an earlier namesake,
    and ``[n, d]`` tensors among them stay blocks (:class:`BlockedColumns`)."""
    if len(tables) == 1:
        return tables[0]
    blocks = tuple(t for t in tables if isinstance(t, RowMajorColumns))
    plain = {k: v for t in tables if not isinstance(t, RowMajorColumns) for k, v in t.items()}
    if not blocks:
        return plain
    return BlockedColumns(plain, blocks)


def _predictions(
    response: Any, rows: int, tail: _Tail, options: ParseOptions
) -> list[Value] | None:
    if not isinstance(response, dict):
        return None
    outputs = response.get("outputs")
    if not isinstance(outputs, list) or not outputs:
        return None
    chosen = outputs[0]
    if options.prediction_output is not None:
        named = [
            o for o in outputs if isinstance(o, dict) and o.get("name") == options.prediction_output
        ]
        if not named:
            raise ParseError("missing_field", "outputs[name=prediction_output]")
        chosen = named[0]
    # Binary outputs come after the outputs listed before the chosen one.
    for index, output in enumerate(outputs):
        where = f"outputs[{index}]"
        tensor = as_object(output, where)
        shape = _shape(tensor, where)
        if shape[0] != rows:
            if output is chosen:
                raise ParseError("row_mismatch", f"{where} has {shape[0]} rows for {rows}")
            continue
        width = shape[1] if len(shape) == 2 else 1
        values = _tensor_values(tensor, rows * width, tail, where)
        if output is chosen:
            if width == 1:
                return values
            return [
                reduce_prediction(values[i * width : (i + 1) * width], options) for i in range(rows)
            ]
    return None


def parse(
    request_body: RequestBody,
    response_body: bytes,
    options: ParseOptions,
    *,
    request_header_length: int | None = None,
    response_header_length: int | None = None,
) -> Parsed:
    """Parse an OIP v2 inference request and its response (which may be empty or unparsable)."""
    request, request_tail = split_binary(request_body, request_header_length)
    request = as_object(request, "request")
    inputs = request.get("inputs")
    if inputs is None:
        raise ParseError("missing_field", "inputs")
    inputs = as_list(inputs, "inputs")
    if not inputs:
        raise ParseError("empty", "inputs")
    tail = _Tail(request_tail)
    tables: list[Mapping[str, list[Value]]] = []
    rows: int | None = None
    for index, tensor in enumerate(inputs):
        tensor_columns, tensor_rows = _tensor_columns(tensor, tail, f"inputs[{index}]")
        if rows is not None and tensor_rows != rows:
            raise ParseError("row_mismatch", f"inputs[{index}]")
        rows = tensor_rows
        tables.append(tensor_columns)
    assert rows is not None
    columns = merge_tensors(tables)
    if rows == 0:
        raise ParseError("empty", "inputs")
    predictions, response_id = parse_response(response_body, response_header_length, rows, options)
    request_id = text_id(request.get("id"))
    return Parsed("open-inference-v2", columns, predictions, rows, request_id or response_id)


def parse_response(
    response_body: bytes, header_length: int | None, rows: int, options: ParseOptions
) -> tuple[list[Value] | None, str | None]:
    """The predictions for ``rows`` rows (None if the response has none to use) and the response's
    id; an unparsable response is one without predictions."""
    try:
        response, tail = split_binary(response_body, header_length)
    except ParseError:
        return None, None
    predictions = _predictions(response, rows, _Tail(tail), options)
    return predictions, text_id(response.get("id")) if isinstance(response, dict) else None
