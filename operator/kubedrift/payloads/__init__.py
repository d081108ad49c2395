"""Payload parsers: one inference request/response pair in, named columns and predictions out.

Pure functions with no I/O, used by the sidecar's background worker (and usable offline). Each
protocol has its own module; :func:`parse_exchange` dispatches, detecting the protocol per exchange
when asked for ``auto``. Parsers raise nothing but :class:`ParseError`, whose ``reason`` is one of
a closed set suitable as a metric label.

>>> from kubedrift.payloads import parse_exchange
>>> body = b'{"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}]}'
>>> answer = b'{"outputs": [{"name": "y", "shape": [2], "datatype": "INT64", "data": [0, 1]}]}'
>>> parsed = parse_exchange("auto", body, answer)
>>> parsed.columns, parsed.predictions
({'x-0': [1, 3], 'x-1': [2, 4]}, [0, 1])
"""

from kubedrift.payloads.detection import detect, parse_exchange
from kubedrift.payloads.errors import REASONS, ParseError, Reason
from kubedrift.payloads.model import PROTOCOLS, JsonPaths, Parsed, ParseOptions, ProtocolName, Value

__all__ = [
    "PROTOCOLS",
    "REASONS",
    "JsonPaths",
    "ParseError",
    "ParseOptions",
    "Parsed",
    "ProtocolName",
    "Reason",
    "Value",
    "detect",
    "parse_exchange",
]
