"""Turn a JSON-like mapping into the spec dataclasses, enforcing what their fields declare.

The parser is generic: it reads each dataclass field's type annotation and its
:class:`~kubedrift.api.fields.Field` metadata, so it checks exactly what the generated CRD schema
checks (types, enums, ranges, patterns, lengths, list uniqueness, required fields, defaults) and
then the class's cross-field :class:`~kubedrift.api.fields.Rule` objects. A body that the API server
accepted therefore parses; a local manifest (``kubedrift check -f``) gets the same verdict without
a cluster. Errors are :class:`SpecError` naming the field path the way the API server does
(``spec.capture.sampleRate``).
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union

from kubedrift.api.fields import (
    Duration,
    Field,
    field_info,
    parse_duration,
    rules_of,
)

T = TypeVar("T")


class SpecError(ValueError):
    """A spec that cannot be used; ``path`` names the field (``spec.window.minSamples``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def unwrap_optional(hint: Any) -> tuple[Any, bool]:
    """``X | None`` -> ``(X, True)``; anything else -> ``(hint, False)``."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0], True
    return hint, False


def parse_object(cls: type[T], value: Any, path: str) -> T:
    """Parse ``value`` (a mapping with camelCase keys) into the dataclass ``cls``."""
    if not isinstance(value, Mapping):
        raise SpecError(path, f"must be an object, got {_kind(value)}")
    hints = typing.get_type_hints(cls)
    by_name = {field_info(f).name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in value:
        if key not in by_name:
            raise SpecError(f"{path}.{key}", f"unknown field (known: {', '.join(by_name)})")
    kwargs: dict[str, Any] = {}
    for name, f in by_name.items():
        raw = value.get(name)
        if raw is None:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise SpecError(f"{path}.{name}", "required value")
            continue
        hint, _ = unwrap_optional(hints[f.name])
        kwargs[f.name] = _parse_value(hint, field_info(f), raw, f"{path}.{name}")
    obj = cls(**kwargs)
    for rule in rules_of(cls):
        if not rule.check(obj):
            raise SpecError(path + (rule.field_path or ""), rule.message)
    return obj


def dump(value: Any) -> Any:
    """The wire form of a parsed value: camelCase keys, lists, duration strings; ``None`` omitted.

    The inverse of :func:`parse_object` for the values it produces.
    """
    if isinstance(value, Duration):
        return value.text
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is not None:
                out[field_info(f).name] = dump(item)
        return out
    if isinstance(value, tuple | list):
        return [dump(v) for v in value]
    if isinstance(value, Mapping):
        return {k: dump(v) for k, v in value.items()}
    return value


def _parse_value(hint: Any, info: Field, raw: Any, path: str) -> Any:
    if info.raw_parse is not None:
        return info.raw_parse(raw, path)
    origin = typing.get_origin(hint)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if raw not in allowed:
            raise SpecError(path, f"unsupported value {raw!r}: one of {', '.join(allowed)}")
        return raw
    if origin is tuple:
        return _parse_list(typing.get_args(hint)[0], info, raw, path)
    if dataclasses.is_dataclass(hint) and hint is not Duration:
        return parse_object(hint, raw, path)  # type: ignore[arg-type]
    if hint is bool:
        if not isinstance(raw, bool):
            raise SpecError(path, f"must be a boolean, got {_kind(raw)}")
        return raw
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise SpecError(path, f"must be an integer, got {_kind(raw)}")
        _check_range(info, raw, path)
        return raw
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise SpecError(path, f"must be a number, got {_kind(raw)}")
        _check_range(info, raw, path)
        return float(raw)
    if hint is str:
        return _parse_string(info, raw, path)
    if hint is Duration:
        return _parse_duration(info, _parse_string(info, raw, path), path)
    raise TypeError(f"{path}: no parser for type {hint!r}")


def _parse_list(item: Any, info: Field, raw: Any, path: str) -> tuple[Any, ...]:
    if not isinstance(raw, list):
        raise SpecError(path, f"must be a list, got {_kind(raw)}")
    if info.min_items is not None and len(raw) < info.min_items:
        raise SpecError(path, f"must have at least {info.min_items} item(s)")
    if info.max_items is not None and len(raw) > info.max_items:
        raise SpecError(path, f"must have at most {info.max_items} items")
    item_info = dataclasses.replace(info, min_items=None, max_items=None)
    items = tuple(_parse_value(item, item_info, v, f"{path}[{i}]") for i, v in enumerate(raw))
    if info.list_type == "set":
        for i, v in enumerate(items):
            if v in items[:i]:
                raise SpecError(f"{path}[{i}]", f"duplicate value {v!r}")
    if info.list_type == "map":
        seen: set[tuple[Any, ...]] = set()
        for i, v in enumerate(items):
            key = tuple(getattr(v, k) for k in info.list_map_keys)
            if key in seen:
                raise SpecError(f"{path}[{i}]", f"duplicate entry for {key[0]!r}")
            seen.add(key)
    return items


def _check_range(info: Field, raw: float, path: str) -> None:
    if info.minimum is not None:
        low_ok = raw > info.minimum if info.exclusive_minimum else raw >= info.minimum
        if not low_ok:
            word = "greater than" if info.exclusive_minimum else "at least"
            raise SpecError(path, f"must be {word} {_num(info.minimum)}, got {raw}")
    if info.maximum is not None:
        high_ok = raw < info.maximum if info.exclusive_maximum else raw <= info.maximum
        if not high_ok:
            word = "less than" if info.exclusive_maximum else "at most"
            raise SpecError(path, f"must be {word} {_num(info.maximum)}, got {raw}")


def _parse_string(info: Field, raw: Any, path: str) -> str:
    if not isinstance(raw, str):
        raise SpecError(path, f"must be a string, got {_kind(raw)}")
    if info.min_length is not None and len(raw) < info.min_length:
        raise SpecError(path, f"must be at least {info.min_length} character(s) long")
    if info.max_length is not None and len(raw) > info.max_length:
        raise SpecError(path, f"must be at most {info.max_length} characters long")
    # Patterns are anchored (^...$, checked by a test), so fullmatch agrees with Go's regexp
    # search even for a trailing newline; ASCII keeps \s and \d to what RE2 means by them.
    if info.pattern is not None and not re.fullmatch(info.pattern, raw, re.ASCII):
        raise SpecError(path, f"{raw!r} does not match {info.pattern}")
    return raw


def _parse_duration(info: Field, text: str, path: str) -> Duration:
    try:
        seconds = parse_duration(text)
    except ValueError:
        raise SpecError(
            path, f"{text!r} is not a duration such as 30s, 5m, 1h30m or 250ms"
        ) from None
    if info.min_duration is not None and seconds < parse_duration(info.min_duration):
        raise SpecError(path, f"must be at least {info.min_duration}, got {text}")
    if info.max_duration is not None and seconds > parse_duration(info.max_duration):
        raise SpecError(path, f"must be at most {info.max_duration}, got {text}")
    return Duration(text)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__
