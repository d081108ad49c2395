"""Shared helpers that turn JSON rows, columns and tensors into named columns of scalars.

Every function raises :class:`~kubedrift.payloads.errors.ParseError` for input of the wrong shape
and never anything else, so protocol modules can compose them without their own ``try`` blocks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from itertools import chain
from typing import Any

from kubedrift.payloads.errors import ParseError
from kubedrift.payloads.model import (
    BlockedColumns,
    ColumnLayout,
    ParseOptions,
    RowMajorColumns,
    Value,
    column_layout,
    tensor_layout,
)

try:  # the `fast` extra: a 1 KB OIP request decodes about 7x faster than with the json module
    from msgspec import json as _msgspec_json

    _fast_decode: Callable[[bytes], Any] | None = _msgspec_json.decode
except ImportError:  # pragma: no cover - the test extra installs msgspec
    _fast_decode = None


def load_json(body: bytes) -> Any:
    """Decode a JSON body (UTF-8, -16 or -32, as the json module reads it); anything else is
    ``invalid_json``.

    With msgspec installed (the ``fast`` extra) it decodes first. A body msgspec refuses
    (``NaN`` and ``Infinity`` literals, numbers beyond the float range, lone surrogates, a byte
    order mark, UTF-16, deep nesting) is decoded again by the json module, so what a body decodes
    to, or whether it is refused, does not depend on msgspec.
    """
    if _fast_decode is not None:
        try:
            return _fast_decode(body)
        except (ValueError, RecursionError):  # msgspec.DecodeError is a ValueError
            pass
    return load_json_stdlib(body)


def load_json_stdlib(body: bytes) -> Any:
    """:func:`load_json` with the json module alone."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        raise ParseError("invalid_json") from error


class Decoded:
    """A request body already decoded (auto-detection decodes once and passes this on)."""

    __slots__ = ("document",)

    def __init__(self, document: Any) -> None:
        self.document = document


#: What a parser accepts as the request: raw bytes or an already decoded document.
RequestBody = bytes | Decoded


def load_request(body: RequestBody) -> Any:
    return body.document if isinstance(body, Decoded) else load_json(body)


def as_object(value: Any, where: str) -> Mapping[str, Any]:
    if type(value) is dict:  # what JSON decodes to; the Mapping check goes through the ABC
        return value
    if not isinstance(value, Mapping):
        raise ParseError("unsupported_type", f"{where} is not an object")
    return value


def as_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ParseError("unsupported_type", f"{where} is not a list")
    return value


def scalar(value: Any, where: str) -> Value:
    """A cell value: numbers, strings, booleans and null pass, containers do not."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    raise ParseError("unsupported_type", f"{where} is not a scalar")


def flatten(data: Any, where: str) -> list[Value]:
    """Row-major flattening of nested lists (OIP ``data`` may be flat or nested)."""
    if not isinstance(data, list):
        return [scalar(data, where)]
    if finite_numbers(data):
        return data  # the common case
    if not any(isinstance(item, list) for item in data):
        return [scalar(item, where) for item in data]
    out: list[Value] = []
    stack: list[Any] = [iter(data)]
    while stack:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
        elif isinstance(item, list):
            stack.append(iter(item))
        else:
            out.append(scalar(item, where))
    return out


_END = object()
_NUMBER_TYPES = frozenset((float, int))


def finite_numbers(values: list[Any]) -> bool:
    """Whether ``values`` holds finite floats and ints only (no bools, strings or None), checked
    at C speed. False too for a sum beyond the float range (integers of hundreds of digits)."""
    if not set(map(type, values)) <= _NUMBER_TYPES:
        return False
    try:
        return math.isfinite(sum(values))
    except OverflowError:
        return False


def positional_name(index: int, options: ParseOptions) -> str:
    """The name of the ``index``-th positional column: configured, else its index as text."""
    names = options.feature_names
    return names[index] if index < len(names) else str(index)


def columns_from_rows(
    rows: Sequence[Any], options: ParseOptions, where: str
) -> Mapping[str, list[Value]]:
    """Rows as objects (``{"a": 1}``), lists (``[1, 2]``) or scalars (one column) -> columns.

    Object rows may miss keys (``None`` fills the gap); list rows must all have the same length.
    """
    if not rows:
        raise ParseError("empty", where)
    first = rows[0]
    columns: dict[str, list[Value]] = {}
    if isinstance(first, Mapping):
        vectors = [
            key for key, value in as_object(first, f"{where}[0]").items() if type(value) is list
        ]
        if vectors:
            return _with_vectors(rows, vectors, options, where)
        for index, row in enumerate(rows):
            row_object = as_object(row, f"{where}[{index}]")
            for key in row_object:
                columns.setdefault(str(key), [None] * index)
            for key, column in columns.items():
                column.append(scalar(row_object.get(key), f"{where}[{index}]"))
        if not columns:
            raise ParseError("empty", f"{where} rows have no fields")
        return columns
    if isinstance(first, list):
        width = len(first)
        if width == 0:
            raise ParseError("empty", f"{where}[0] has no cells")
        if (
            width > options.embedding_width
            and not options.feature_names
            and not options.naming.positions
        ):
            return _positional_block(rows, width, options, where)
        block = _row_major(rows, width, options)
        if block is not None:
            return block
        names = [positional_name(i, options) for i in range(width)]
        for name in names:
            columns[name] = []
        for index, row in enumerate(rows):
            cells = as_list(row, f"{where}[{index}]")
            if len(cells) != width:
                raise ParseError(
                    "bad_shape", f"{where}[{index}] has {len(cells)} cells, not {width}"
                )
            for name, cell in zip(names, cells, strict=True):
                columns[name].append(scalar(cell, f"{where}[{index}]"))
        return columns
    return {
        positional_name(0, options): [scalar(row, f"{where}[{i}]") for i, row in enumerate(rows)]
    }


def _positional_block(
    rows: Sequence[Any], width: int, options: ParseOptions, where: str
) -> RowMajorColumns:
    """List rows wider than ``options.embedding_width`` without configured names: one ``[n, d]``
    block named ``options.positional_block`` (an embedding), not ``d`` positional columns."""
    values = rows[0] if len(rows) == 1 else None
    if values is None or type(values) is not list or len(values) != width:
        values = []
        for index, row in enumerate(rows):
            cells = as_list(row, f"{where}[{index}]")
            if len(cells) != width:
                raise ParseError(
                    "bad_shape", f"{where}[{index}] has {len(cells)} cells, not {width}"
                )
            values.extend(cells)
    if not finite_numbers(values):
        values = [scalar(v, where) for v in values]
    return RowMajorColumns(tensor_layout(options.positional_block, width), values)


def _with_vectors(
    rows: Sequence[Any], vectors: Sequence[str], options: ParseOptions, where: str
) -> Mapping[str, list[Value]]:
    """Object rows whose ``vectors`` fields hold lists (an embedding per row): each such field
    is one ``[n, d]`` block named after it (``d`` from the first row; a row without the field
    has missing cells), the other fields are columns as usual."""
    widths = {key: len(rows[0][key]) for key in vectors}
    cells: dict[str, list[Value]] = {key: [] for key in vectors}
    others: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        row_object = as_object(row, f"{where}[{index}]")
        for key in vectors:
            found = row_object.get(key)
            if found is None:
                cells[key].extend([None] * widths[key])
                continue
            if type(found) is not list or len(found) != widths[key]:
                raise ParseError("bad_shape", f"{where}[{index}].{key} is not {widths[key]} values")
            cells[key].extend(
                found if finite_numbers(found) else [scalar(v, f"{where}[{index}]") for v in found]
            )
        others.append({k: v for k, v in row_object.items() if k not in widths})
    blocks = tuple(
        RowMajorColumns(tensor_layout(key, widths[key]), cells[key])
        for key in vectors
        if widths[key]
    )
    plain = columns_from_rows(others, options, where) if any(others) else {}
    return BlockedColumns(dict(plain), blocks)


def _row_major(rows: Sequence[Any], width: int, options: ParseOptions) -> RowMajorColumns | None:
    """List rows of finite numbers, all ``width`` long, as one block (checked at C speed), else
    None (the general path then checks and converts cell by cell)."""
    if not width or not all(type(row) is list and len(row) == width for row in rows):
        return None
    values = rows[0] if len(rows) == 1 else list(chain.from_iterable(rows))
    if not finite_numbers(values):
        return None
    layout = _positional_layout(options, width)
    if len(layout.positions) != width:  # configured names repeat: the general path decides
        return None
    return RowMajorColumns(layout, values)


@lru_cache(maxsize=64)
def _positional_layout(options: ParseOptions, width: int) -> ColumnLayout:
    return column_layout(tuple(positional_name(i, options) for i in range(width)))


def columns_from_object(value: Mapping[str, Any], where: str) -> dict[str, list[Value]]:
    """Columnar objects ``{"a": [1, 2], "b": [3, 4]}`` -> columns of equal length."""
    columns: dict[str, list[Value]] = {}
    for key, cells in value.items():
        columns[str(key)] = flatten(cells, f"{where}.{key}")
    lengths = {len(cells) for cells in columns.values()}
    if len(lengths) > 1:
        raise ParseError("row_mismatch", f"{where} columns differ in length")
    if not columns or lengths == {0}:
        raise ParseError("empty", where)
    return columns


def row_count(columns: Mapping[str, list[Value]]) -> int:
    if isinstance(columns, RowMajorColumns):
        return columns.rows
    if isinstance(columns, BlockedColumns) and columns.blocks:
        return columns.blocks[0].rows
    return len(next(iter(columns.values())))


def reduce_prediction(value: Any, options: ParseOptions, names: Sequence[Any] = ()) -> Value:
    """One row's prediction: a scalar as is; a vector of scores reduced by the configured rule."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, list):
        if isinstance(value, Mapping):
            raise ParseError("unsupported_type", "prediction is an object")
        return scalar(value, "prediction")
    cells = [scalar(cell, "prediction") for cell in value]
    if not cells or options.prediction_reduce == "none":
        return None
    if options.prediction_reduce == "first":
        return cells[0]
    if not all(isinstance(c, int | float) and not isinstance(c, bool) for c in cells):
        raise ParseError("unsupported_type", "scores are not numbers")
    # Compared as they are: Python orders ints and floats exactly, and no float holds some ints.
    best = max(range(len(cells)), key=cells.__getitem__)  # type: ignore[arg-type]
    if len(names) == len(cells):
        return scalar(names[best], "names")
    return best


def predictions_from_list(
    values: Any, rows: int, options: ParseOptions, where: str, names: Sequence[Any] = ()
) -> list[Value]:
    """A per-row prediction list that must have exactly ``rows`` entries."""
    items = as_list(values, where)
    if len(items) != rows:
        raise ParseError("row_mismatch", f"{where} has {len(items)} predictions for {rows} rows")
    return [reduce_prediction(item, options, names) for item in items]


def text_id(value: Any) -> str | None:
    """A request id from a body field: strings and integers, nothing else."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
