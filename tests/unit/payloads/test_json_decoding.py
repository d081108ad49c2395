"""Bodies decode to what the json module makes of them, whether or not msgspec decodes first.

``load_json`` tries msgspec (the ``fast`` extra) and hands whatever msgspec refuses to the json
module. These tests compare it with ``load_json_stdlib`` (the json module alone): the same value,
of the same types, or the same refusal.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubedrift.payloads import ParseError, tables
from kubedrift.payloads.tables import load_json, load_json_stdlib
from support.strict_equality import same

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=30,
)


def outcome(decode: Any, body: bytes) -> tuple[str, Any]:
    try:
        return "value", decode(body)
    except ParseError as error:
        return "refused", error.reason


def assert_same_outcome(body: bytes) -> None:
    fast, reference = outcome(load_json, body), outcome(load_json_stdlib, body)
    assert fast[0] == reference[0]
    assert same(fast[1], reference[1])


def test_the_fast_decoder_is_installed_here() -> None:
    """The test extra installs msgspec: without it every other test here compares the json
    module with itself."""
    assert tables._fast_decode is not None


@settings(max_examples=500, deadline=None, derandomize=True)
@given(document=DOCUMENTS, ascii_only=st.booleans(), indent=st.sampled_from([None, 1]))
def test_any_json_document_decodes_as_the_json_module_decodes_it(
    document: Any, ascii_only: bool, indent: int | None
) -> None:
    assert_same_outcome(json.dumps(document, ensure_ascii=ascii_only, indent=indent).encode())


@settings(max_examples=300, deadline=None, derandomize=True)
@given(body=st.binary(max_size=40))
def test_any_bytes_decode_or_are_refused_as_by_the_json_module(body: bytes) -> None:
    assert_same_outcome(body)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[NaN, Infinity, -Infinity]", id="non-finite literals"),
        pytest.param(b"[1e400, -1e400]", id="beyond the float range"),
        pytest.param(b"123456789012345678901234567890", id="integer beyond 64 bits"),
        pytest.param(b"-9223372036854775809", id="integer below int64"),
        pytest.param(b'"\\ud800"', id="lone surrogate"),
        pytest.param(b'\xef\xbb\xbf{"a": 1}', id="byte order mark"),
        pytest.param('{"a": [1.5, "\u00e9"]}'.encode("utf-16"), id="UTF-16"),
        pytest.param(b'{"a": 1, "a": 2}', id="repeated key"),
        pytest.param(b"[" * 2000 + b"]" * 2000, id="deep nesting"),
        pytest.param(b'"\xff"', id="invalid UTF-8"),
        pytest.param(b"[1] x", id="trailing bytes"),
        pytest.param(b"", id="empty"),
    ],
)
def test_bodies_the_fast_decoder_refuses_get_the_json_modules_answer(body: bytes) -> None:
    assert_same_outcome(body)
