"""Names that line up: payload columns renamed to the baseline's features, class indices to names.

The same model gets differently named inputs depending on the client library: one ``[n, d]``
tensor named ``input-1`` (MLServer's NumpyRequestCodec), ``input-0`` (KServe's examples) or
``predict``, or one tensor per column (the pandas codec). A :class:`Naming`, written once in the
spec (``spec.capture.features``), maps them all to the baseline's names:

- ``positions`` names the columns of a positional block by position: the one ``[n, d]`` tensor of
  an OIP request, whatever its name, and list rows (KServe v1 ``instances``, MLflow, Seldon
  ``ndarray``) when their width is the number of positions;
- ``renames`` maps a payload column name (a tensor or field name, or ``<tensor>-<j>``) to a
  feature name.

``classes`` turns a class index into a class name: a ``predict_proba`` output reduced by argmax
(or a model that answers 0/1) becomes the baseline's ``high``/``low``. Integer predictions
(integral floats too) in ``0 .. len(classes) - 1`` are mapped; anything else is left as it is.

>>> from kubedrift.payloads import parse_exchange
>>> naming = Naming(positions=("age", "income"), classes=("high", "low"))
>>> body = b'{"inputs": [{"name": "input-1", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]}'
>>> parsed = apply_naming(parse_exchange("auto", body, b'{"outputs": [{"name": "p", '
...     b'"shape": [1, 2], "datatype": "FP64", "data": [0.2, 0.8]}]}'), naming)
>>> dict(parsed.columns), parsed.predictions
({'age': [1], 'income': [2]}, ['low'])
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from kubedrift.payloads.model import (
    BlockedColumns,
    ColumnLayout,
    Naming,
    Parsed,
    RowMajorColumns,
    Value,
    column_layout,
)

__all__ = ["Naming", "apply_naming", "class_name"]


def apply_naming(parsed: Parsed, naming: Naming) -> Parsed:
    """``parsed`` with its columns renamed and its class indices mapped to names."""
    if not naming:
        return parsed
    columns = parsed.columns
    if naming.positions or naming.renames:
        columns = _renamed(columns, naming)
    predictions = parsed.predictions
    if naming.classes and predictions is not None:
        predictions = [class_name(value, naming.classes) for value in predictions]
    # the constructor, not _replace: a named tuple's _replace takes several times as long
    return Parsed(parsed.protocol, columns, predictions, parsed.rows, parsed.request_id)


def class_name(value: Value, classes: tuple[Value, ...]) -> Value:
    """``classes[value]`` for an integer (or integral float) index in range, else ``value``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            return value
        index = int(value)
    elif isinstance(value, int):
        index = value
    else:
        return value
    return classes[index] if 0 <= index < len(classes) else value


def _renamed(columns: Mapping[str, list[Value]], naming: Naming) -> Mapping[str, list[Value]]:
    if isinstance(columns, RowMajorColumns):
        layout = _renamed_layout(columns.layout, naming)
        if layout is None:
            return columns
        return RowMajorColumns(layout, columns.cells)
    if isinstance(columns, BlockedColumns):
        # blocks keep their tensor's name (an embedding block is named after it); the scalar
        # columns are renamed
        return BlockedColumns(_renamed(columns.plain, naming), columns.blocks)
    renames = dict(naming.renames)
    positions = naming.positions
    out: dict[str, list[Value]] = {}
    for name, cells in columns.items():
        named = positions[int(name)] if name.isdigit() and int(name) < len(positions) else name
        out[renames.get(named, named)] = cells
    return out


@lru_cache(maxsize=256)
def _renamed_layout(layout: ColumnLayout, naming: Naming) -> ColumnLayout | None:
    """The block's names after ``naming`` (made once per layout), or None when they repeat."""
    names = layout.names
    if len(naming.positions) == len(names):
        names = naming.positions
    renames = dict(naming.renames)
    names = tuple(renames.get(name, name) for name in names)
    if names == layout.names:
        return layout  # unchanged: a tensor block stays one
    if len(set(names)) != len(names):
        return None
    return column_layout(names)
