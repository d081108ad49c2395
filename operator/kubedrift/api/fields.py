"""How a spec dataclass field describes itself, once, for both the parser and the CRD schema.

Every field of the ``ModelMonitor`` spec dataclasses is declared with :func:`prop`, which stores a
:class:`Field` in the dataclass field's metadata: the camelCase JSON name, the description, and the
constraints (range, pattern, lengths, list type). ``kubedrift.api.parsing`` enforces them when it
turns a body into dataclasses; ``kubedrift.api.openapi`` writes them into the CRD's OpenAPI schema.
The Python type annotation supplies the rest (JSON type, enum values from ``Literal``, required
when the field has no default). Cross-field constraints are :class:`Rule` objects that carry both
the CEL expression for the API server and the same check in Python.

Use :func:`prop` for every new spec field; never write schema by hand next to it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

#: Go-style durations as the API accepts them: one or more ``<number><unit>`` parts, units
#: ``ms``, ``s``, ``m``, ``h`` (``1h30m``, ``500ms``, ``2.5s``). Every match is also a valid Go
#: duration, so CEL's ``duration()`` can compare them on the API server.
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
#: Longest accepted duration string; bounds the CEL cost of ``duration(self)``.
DURATION_MAX_LENGTH = 32


def parse_duration(text: str) -> float:
    """Return the number of seconds in a duration string such as ``"1h30m"`` or ``"250ms"``.

    Raises ``ValueError`` for anything :data:`DURATION_PATTERN` rejects.

    >>> parse_duration("1h30m"), parse_duration("250ms")
    (5400.0, 0.25)
    """
    if len(text) > DURATION_MAX_LENGTH or not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(
            f"invalid duration {text!r}: use numbers with units ms, s, m or h, e.g. 30s"
        )
    return sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))


@dataclass(frozen=True)
class Duration:
    """A duration as written in the manifest (``text``), with its length in ``seconds``."""

    text: str

    def __post_init__(self) -> None:
        parse_duration(self.text)

    @property
    def seconds(self) -> float:
        return parse_duration(self.text)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Rule:
    """A cross-field constraint, checked by the API server (CEL) and by ``parse_spec`` (Python).

    ``cel`` runs with ``self`` bound to the object that declares the rule (after schema defaults
    are applied); ``check`` gets the parsed dataclass (or mapping, for raw sub-schemas) and returns
    True when the value is valid. ``field_path`` (relative, like ``.threshold``) makes the API
    server's message name the offending field instead of the object that holds the rule.
    """

    cel: str
    message: str
    check: Callable[[Any], bool]
    field_path: str | None = None
    reason: Literal["FieldValueInvalid", "FieldValueRequired", "FieldValueForbidden"] | None = None

    def to_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.cel, "message": self.message}
        if self.field_path:
            out["fieldPath"] = self.field_path
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class Field:
    """Everything about one spec field besides its Python type and default."""

    name: str
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    list_type: Literal["atomic", "set", "map"] | None = None
    list_map_keys: tuple[str, ...] = ()
    #: Durations only: the shortest and longest accepted value, as duration strings.
    min_duration: str | None = None
    max_duration: str | None = None
    #: A hand-written schema for a field whose type is an open mapping (the Job template).
    raw_schema: Mapping[str, Any] | None = None
    #: The parser for a raw-schema field: ``(value, path) -> parsed`` raising ``SpecError``.
    raw_parse: Callable[[Any, str], Any] | None = None


_MISSING: Any = dataclasses.MISSING


def prop(
    name: str,
    doc: str,
    *,
    default: Any = _MISSING,
    default_factory: Any = _MISSING,
    hashed: bool = True,
    **constraints: Any,
) -> Any:
    """Declare a spec field: its JSON ``name``, ``doc`` and constraints (see :class:`Field`).

    A field with neither ``default`` nor ``default_factory`` is required. ``hashed=False`` leaves
    an unhashable value (an open mapping) out of the dataclass hash; equality still compares it.
    """
    meta = {"api": Field(name=name, doc=doc, **constraints)}
    hash_ = None if hashed else False
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta, hash=hash_)
    return dataclasses.field(default=default, metadata=meta, hash=hash_)


def field_info(f: dataclasses.Field[Any]) -> Field:
    """The :class:`Field` declared for a dataclass field (every spec field has one)."""
    info = f.metadata.get("api")
    if not isinstance(info, Field):
        raise TypeError(f"field {f.name} was not declared with kubedrift.api.fields.prop()")
    return info


def rules_of(cls: type) -> tuple[Rule, ...]:
    """Cross-field rules a spec dataclass declares in its ``RULES`` class variable."""
    rules: tuple[Rule, ...] = getattr(cls, "RULES", ())
    return rules
