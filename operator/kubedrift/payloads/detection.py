"""Pick the parser for an exchange: the configured protocol, or per exchange when ``auto``.

Detection looks at the request body only, most specific shape first: OIP v2 (``inputs`` is a list
of named tensors), Seldon v1 (``data.ndarray`` / ``data.tensor``), MLflow (``dataframe_split`` /
``dataframe_records``), KServe v1 (``instances`` / ``inputs``). A body matching none is
``unknown_protocol``; plain JSON is never guessed, it needs configured paths.

With msgspec installed, an ``auto`` or OIP exchange is first decoded against the usual OIP shape
(:mod:`~kubedrift.payloads.open_inference_typed`); anything else takes the path above, with the
same results either way.
"""

from __future__ import annotations

from typing import Any

from kubedrift.payloads import kserve_v1, mlflow, open_inference, plain_json, seldon_v1
from kubedrift.payloads.errors import ParseError
from kubedrift.payloads.model import Parsed, ParseOptions, ProtocolName
from kubedrift.payloads.naming import apply_naming
from kubedrift.payloads.tables import Decoded, RequestBody, load_json

try:  # the `fast` extra: the usual OIP exchange decoded by type, about 3x faster
    from kubedrift.payloads import open_inference_typed
except ImportError:  # pragma: no cover - the test extra installs msgspec
    open_inference_typed = None  # type: ignore[assignment]

_DEFAULT_OPTIONS = ParseOptions()
_TYPED_PROTOCOLS = ("auto", "open-inference-v2")


def detect(request: Any) -> ProtocolName:
    """The protocol a decoded request body speaks."""
    if open_inference.looks_like(request):
        return "open-inference-v2"
    if seldon_v1.looks_like(request):
        return "seldon-v1"
    if mlflow.looks_like(request):
        return "mlflow"
    if kserve_v1.looks_like(request):
        return "kserve-v1"
    raise ParseError("unknown_protocol")


def _header_length(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError as error:
        raise ParseError("bad_shape", "Inference-Header-Content-Length") from error


def parse_exchange(
    protocol: str,
    request_body: bytes,
    response_body: bytes,
    options: ParseOptions = _DEFAULT_OPTIONS,
    *,
    request_header_length: str | None = None,
    response_header_length: str | None = None,
) -> Parsed:
    """Rows, predictions and body id of one exchange; raises only :class:`ParseError`.

    ``protocol`` is ``auto`` or a name from :data:`~kubedrift.payloads.model.PROTOCOLS`. The
    header lengths are the raw ``Inference-Header-Content-Length`` values of the request and
    response (OIP binary extension), when present. ``options.naming`` is applied last.

    >>> parse_exchange("auto", b'{"instances": [[1, 2]]}', b'{"predictions": [0]}').columns
    {'0': [1], '1': [2]}
    """
    try:
        parsed = _parse(
            protocol,
            request_body,
            response_body,
            options,
            request_header_length=request_header_length,
            response_header_length=response_header_length,
        )
        return apply_naming(parsed, options.naming) if options.naming else parsed
    except ParseError:
        raise
    except RecursionError as error:
        raise ParseError("unsupported_type", "nesting too deep") from error


def _parse(
    protocol: str,
    request_body: bytes,
    response_body: bytes,
    options: ParseOptions,
    *,
    request_header_length: str | None,
    response_header_length: str | None,
) -> Parsed:
    request_length = _header_length(request_header_length)
    if (
        open_inference_typed is not None
        and protocol in _TYPED_PROTOCOLS
        and request_length is None
        and response_header_length is None
    ):
        parsed = open_inference_typed.parse(request_body, response_body, options)
        if parsed is not None:  # an OIP exchange of the usual kind; else the general parsers
            return parsed
    body: RequestBody = request_body
    if protocol == "auto":
        if request_length is not None:
            protocol = "open-inference-v2"
        else:
            decoded = Decoded(load_json(request_body))  # decoded once, for detection and parsing
            protocol = detect(decoded.document)
            body = decoded
    if protocol == "open-inference-v2":
        return open_inference.parse(
            body,
            response_body,
            options,
            request_header_length=request_length,
            response_header_length=_header_length(response_header_length),
        )
    if protocol == "kserve-v1":
        return kserve_v1.parse(body, response_body, options)
    if protocol == "seldon-v1":
        return seldon_v1.parse(body, response_body, options)
    if protocol == "mlflow":
        return mlflow.parse(body, response_body, options)
    if protocol == "json":
        return plain_json.parse(body, response_body, options)
    raise ParseError("unknown_protocol", protocol)
