"""What goes into a parser (an exchange) and what comes out (rows, predictions, an id).

Values stay plain Python (``float``, ``int``, ``bool``, ``str`` or ``None``) so that parsers have
no numpy dependency and tests can compare them exactly; the sidecar turns a batch of parsed
exchanges into arrays for the window in one go.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

#: The protocols a sidecar can be configured with (``auto`` detects one per exchange).
ProtocolName = Literal["open-inference-v2", "kserve-v1", "seldon-v1", "mlflow", "json"]
PROTOCOLS: tuple[str, ...] = (
    "auto",
    "open-inference-v2",
    "kserve-v1",
    "seldon-v1",
    "mlflow",
    "json",
)

#: A scalar cell of a row.
Value = float | int | bool | str | None


@dataclass(frozen=True)
class JsonPaths:
    """Where the plain-JSON parser finds things: dotted paths rooted at ``request`` or ``response``.

    ``features`` points at one row (an object), a list of rows (objects or lists), or an object of
    columns (name -> list). ``prediction`` at a scalar or a list of scalars. ``id`` at a string or a
    number. Path segments are object keys or list indices: ``request.payload.rows``,
    ``response.result.0.score``.
    """

    features: str = "request"
    prediction: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class ParseOptions:
    """How to read payloads that do not name their columns, and which output is the prediction.

    ``feature_names`` names positional columns (KServe v1 ``instances`` rows, Seldon ``ndarray``
    without ``names``, MLflow ``instances``); without it positional columns are named ``"0"``,
    ``"1"``, ... . ``prediction_output`` picks the OIP output tensor (default: the first).
    ``prediction_reduce`` turns a per-row vector of scores into one prediction: ``argmax`` (class
    index, or the Seldon ``names`` entry when there is one), ``first``, or ``none`` (such
    predictions are dropped, the rows are kept).
    """

    feature_names: tuple[str, ...] = ()
    prediction_output: str | None = None
    prediction_reduce: Literal["none", "argmax", "first"] = "argmax"
    json_paths: JsonPaths = field(default_factory=JsonPaths)


@dataclass(frozen=True)
class Parsed:
    """Rows extracted from one request/response pair.

    ``columns`` maps a column name to its ``rows`` values. ``predictions`` has ``rows`` entries, or
    is ``None`` when the response carried none the parser could use. ``request_id`` is the id the
    body itself carries (OIP ``id``, Seldon ``meta.puid``, the configured JSON path); header ids are
    the sidecar's business.
    """

    protocol: ProtocolName
    columns: Mapping[str, list[Value]]
    predictions: list[Value] | None
    rows: int
    request_id: str | None = None
