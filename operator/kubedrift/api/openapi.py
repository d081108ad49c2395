"""Generate OpenAPI v3 (structural) schemas from the spec dataclasses and the status TypedDicts.

The spec side reads what :func:`kubedrift.api.fields.prop` declared: JSON names, descriptions,
constraints, defaults and cross-field rules. The status side reads TypedDicts (``NotRequired``
keys are optional) with per-key descriptions from the module's ``DOCS`` table. Nothing here is
written by hand per field; ``kubedrift.api.crd`` wraps the result into the CRD document.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any, Literal, NotRequired, Required, is_typeddict

from kubedrift.api.fields import (
    DURATION_MAX_LENGTH,
    DURATION_PATTERN,
    Duration,
    Field,
    field_info,
    rules_of,
)
from kubedrift.api.parsing import dump, unwrap_optional
from kubedrift.api.status import Timestamp

_SCALARS: dict[Any, str] = {bool: "boolean", int: "integer", float: "number", str: "string"}


def spec_schema(cls: type) -> dict[str, Any]:
    """The schema of a spec dataclass: properties, required, defaults and CEL rules."""
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        info = field_info(f)
        hint, _ = unwrap_optional(hints[f.name])
        prop = {"description": info.doc, **_spec_type(hint, info)}
        default = schema_default(f)
        if default is not None:
            prop["default"] = default
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(info.name)
        properties[info.name] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    rules = rules_of(cls)
    if rules:
        schema["x-kubernetes-validations"] = [r.to_schema() for r in rules]
    return schema


def schema_default(f: dataclasses.Field[Any]) -> Any:
    """The schema default for a dataclass field, or None when the schema declares none.

    Scalars and durations keep their value; a nested section whose dataclass is its default
    factory defaults to that dataclass's defaults written out in full (the API server checks a
    default against the section's CEL rules without applying the defaults nested in it, so ``{}``
    would fail them); empty lists and ``None`` have no schema default.
    """
    if f.default_factory is not dataclasses.MISSING:
        factory = f.default_factory
        return dump(factory()) if dataclasses.is_dataclass(factory) else None
    if f.default is dataclasses.MISSING or f.default is None or f.default == ():
        return None
    if isinstance(f.default, Duration):
        return f.default.text
    return f.default


def _spec_type(hint: Any, info: Field) -> dict[str, Any]:
    if info.raw_schema is not None:
        return dict(info.raw_schema)
    origin = typing.get_origin(hint)
    if origin is Literal:
        return {"type": "string", "enum": list(typing.get_args(hint))}
    if origin is tuple:
        item = _spec_type(typing.get_args(hint)[0], dataclasses.replace(info, list_type=None))
        for key in ("minItems", "maxItems", "x-kubernetes-list-type", "x-kubernetes-list-map-keys"):
            item.pop(key, None)
        out: dict[str, Any] = {"type": "array", "items": item}
        _put(out, "minItems", info.min_items)
        _put(out, "maxItems", info.max_items)
        _put(out, "x-kubernetes-list-type", info.list_type)
        if info.list_map_keys:
            out["x-kubernetes-list-map-keys"] = list(info.list_map_keys)
        return out
    if hint is Duration:
        out = {"type": "string", "pattern": DURATION_PATTERN, "maxLength": DURATION_MAX_LENGTH}
        rules = []
        if info.min_duration is not None:
            rules.append(
                {
                    "rule": f"duration(self) >= duration('{info.min_duration}')",
                    "message": f"must be at least {info.min_duration}",
                }
            )
        if info.max_duration is not None:
            rules.append(
                {
                    "rule": f"duration(self) <= duration('{info.max_duration}')",
                    "message": f"must be at most {info.max_duration}",
                }
            )
        if rules:
            out["x-kubernetes-validations"] = rules
        return out
    if dataclasses.is_dataclass(hint):
        return spec_schema(hint)  # type: ignore[arg-type]
    if hint in _SCALARS:
        out = {"type": _SCALARS[hint]}
        _put(out, "minimum", info.minimum)
        _put(out, "maximum", info.maximum)
        if info.exclusive_minimum:
            out["exclusiveMinimum"] = True
        if info.exclusive_maximum:
            out["exclusiveMaximum"] = True
        _put(out, "pattern", info.pattern)
        _put(out, "minLength", info.min_length)
        _put(out, "maxLength", info.max_length)
        return out
    raise TypeError(f"{info.name}: no schema for type {hint!r}")


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


def status_schema(
    cls: type,
    docs: Mapping[str, str],
    list_map_keys: Mapping[str, str],
    prefix: str = "",
) -> dict[str, Any]:
    """The schema of a status TypedDict.

    ``docs`` maps dotted key paths (``drift.features.name``) to descriptions; ``list_map_keys``
    maps the dotted paths of keyed lists to their key (``{"conditions": "type"}``).
    """
    hints = typing.get_type_hints(cls, include_extras=True)
    properties: dict[str, Any] = {}
    for key, hint in hints.items():
        path = f"{prefix}{key}"
        prop = _status_type(_strip(hint), docs, list_map_keys, path)
        if path in docs:
            prop = {"description": docs[path], **prop}
        properties[key] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    # Not __required_keys__: with postponed annotations Python 3.11 cannot see NotRequired there.
    required = [k for k, hint in hints.items() if typing.get_origin(hint) is not NotRequired]
    if required:
        schema["required"] = required
    return schema


def _strip(hint: Any) -> Any:
    while typing.get_origin(hint) in (NotRequired, Required):
        hint = typing.get_args(hint)[0]
    return hint


def _status_type(
    hint: Any, docs: Mapping[str, str], list_map_keys: Mapping[str, str], path: str
) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if hint is Timestamp:
        return {"type": "string", "format": "date-time"}
    if origin is Literal:
        return {"type": "string", "enum": list(typing.get_args(hint))}
    if origin is list:
        item = _status_type(typing.get_args(hint)[0], docs, list_map_keys, path)
        out: dict[str, Any] = {"type": "array", "items": item}
        if path in list_map_keys:
            out["x-kubernetes-list-type"] = "map"
            out["x-kubernetes-list-map-keys"] = [list_map_keys[path]]
        return out
    if is_typeddict(hint):
        return status_schema(hint, docs, list_map_keys, f"{path}.")
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    raise TypeError(f"status.{path}: no schema for type {hint!r}")
