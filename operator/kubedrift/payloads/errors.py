"""The one exception a payload parser raises, with a bounded set of reasons.

Parsers never let ``KeyError``, ``TypeError`` or ``json.JSONDecodeError`` escape: whatever is
wrong with a payload becomes a :class:`ParseError` whose ``reason`` is one of :data:`REASONS`. The
sidecar counts unparsable exchanges by that reason (``kubedrift_unparsable_total{reason=...}``),
so the set is closed and never carries payload values.
"""

from __future__ import annotations

from typing import Literal, get_args

Reason = Literal[
    "invalid_json",  # the body is not UTF-8 JSON
    "unknown_protocol",  # auto-detection recognised none of the supported shapes
    "missing_field",  # a field the protocol requires is absent
    "bad_shape",  # a tensor's shape and data disagree, or the shape has more than 2 dimensions
    "row_mismatch",  # inputs or predictions disagree on the number of rows
    "unsupported_type",  # a value or container of a type the protocol does not allow there
    "binary_unsupported",  # an OIP binary tensor with a datatype that cannot be decoded
    "empty",  # the payload holds no rows
]

#: Every reason, in declaration order (the metric label values the sidecar pre-creates).
REASONS: tuple[str, ...] = get_args(Reason)


class ParseError(ValueError):
    """A payload the parsers cannot turn into rows; ``reason`` labels the metric.

    >>> ParseError("missing_field", "inputs[0].data").reason
    'missing_field'
    """

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: Reason = reason
        self.detail = detail
