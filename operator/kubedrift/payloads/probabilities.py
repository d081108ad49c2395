"""Class probabilities from a response: what performance estimated without labels reads.

``spec.capture.probabilities`` names where a classifier's response carries its class
probabilities, one of:

- ``output``: an Open Inference Protocol output tensor (``predict_proba`` next to ``predict``),
  shape ``[n, k]`` (one column per class in sorted class order) or ``[n]`` / ``[n, 1]`` (a binary
  model's positive-class probability), its values in the JSON ``data`` (binary-encoded tensors are
  not read here);
- ``path``: a dotted path in the JSON response, rooted at ``response`` like ``spec.capture.json``
  paths (``response.probabilities``, ``response.predictions`` for a KServe v1 model answering
  probability vectors): a list of one entry per row, each a list of ``k`` numbers or one number.

:func:`extract` returns the ``[n, k]`` matrix as lists of floats, or ``None`` when the response has
no usable probabilities (missing, wrong number of rows, not numbers): the exchange's rows still
count everywhere else, only the estimate skips them.

>>> source = ProbabilitySource(output="proba")
>>> answer = (b'{"outputs": [{"name": "label", "shape": [2], "data": [0, 1]},'
...           b' {"name": "proba", "shape": [2, 2], "data": [0.8, 0.2, 0.3, 0.7]}]}')
>>> extract(source, answer, rows=2)
[[0.8, 0.2], [0.3, 0.7]]
>>> extract(ProbabilitySource(path="response.p"), b'{"p": [0.1, 0.9]}', rows=2)
[[0.1], [0.9]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from kubedrift.payloads.errors import ParseError
from kubedrift.payloads.plain_json import resolve
from kubedrift.payloads.tables import load_json


@dataclass(frozen=True)
class ProbabilitySource:
    """Where the probabilities are: an OIP ``output`` tensor or a JSON ``path`` (exactly one)."""

    output: str | None = None
    path: str | None = None

    def __post_init__(self) -> None:
        if (self.output is None) == (self.path is None):
            raise ValueError("probabilities: set exactly one of output and path")


def extract(source: ProbabilitySource, response_body: bytes, rows: int) -> list[list[float]] | None:
    """The ``[rows, k]`` probabilities of a response, or ``None``; see the module docstring."""
    try:
        document = load_json(response_body)
    except (ParseError, ValueError):
        return None
    if source.output is not None:
        return _from_output(document, source.output, rows)
    assert source.path is not None
    try:
        node = resolve({"response": document}, source.path)
    except ParseError:
        return None
    return _from_rows(node, rows)


def _from_output(document: Any, name: str, rows: int) -> list[list[float]] | None:
    outputs = document.get("outputs") if isinstance(document, dict) else None
    if not isinstance(outputs, list):
        return None
    tensor = next((o for o in outputs if isinstance(o, dict) and o.get("name") == name), None)
    if tensor is None:
        return None
    shape = tensor.get("shape")
    data = tensor.get("data")
    if not isinstance(shape, list) or not isinstance(data, list) or not shape:
        return None
    if shape[0] != rows or len(shape) > 2:
        return None
    width = shape[1] if len(shape) == 2 else 1
    flat = _flatten(data)
    if not isinstance(width, int) or width < 1 or flat is None or len(flat) != rows * width:
        return None
    return [flat[i * width : (i + 1) * width] for i in range(rows)]


def _from_rows(node: Any, rows: int) -> list[list[float]] | None:
    if not isinstance(node, list) or len(node) != rows:
        return None
    matrix: list[list[float]] = []
    for entry in node:
        cells = _flatten(entry if isinstance(entry, list) else [entry])
        if cells is None or (matrix and len(cells) != len(matrix[0])):
            return None
        matrix.append(cells)
    return matrix


def _flatten(data: list[Any]) -> list[float] | None:
    """Finite numbers of a (nested) list in order, or ``None`` when one is not a number."""
    flat: list[float] = []
    for item in data:
        if isinstance(item, list):
            inner = _flatten(item)
            if inner is None:
                return None
            flat.extend(inner)
        elif isinstance(item, bool) or not isinstance(item, int | float) or not math.isfinite(item):
            return None
        else:
            flat.append(float(item))
    return flat
