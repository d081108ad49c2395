"""The CRD in crds/ is generated from the Python types, and the two agree field by field."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml

from kubedrift.api import crd
from kubedrift.api.fields import Duration, field_info, rules_of
from kubedrift.api.parsing import dump, unwrap_optional
from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.api.status import CONDITION_TYPES, DOCS, ModelMonitorStatus

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "crds" / crd.FILENAME


def schema_root() -> dict[str, Any]:
    version = crd.crd()["spec"]["versions"][0]
    root: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return root


def spec_classes() -> list[tuple[str, type]]:
    """Every spec dataclass with the schema path where it appears, walking from the root."""
    found: list[tuple[str, type]] = []

    def walk(path: str, cls: type) -> None:
        found.append((path, cls))
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            hint, _ = unwrap_optional(hints[f.name])
            if typing.get_origin(hint) is tuple:
                hint = typing.get_args(hint)[0]
                suffix = ".items"
            else:
                suffix = ""
            if dataclasses.is_dataclass(hint) and hint is not Duration:
                walk(f"{path}.properties.{field_info(f).name}{suffix}", hint)  # type: ignore[arg-type]

    walk("spec", ModelMonitorSpec)
    return found


def node(path: str) -> dict[str, Any]:
    current: dict[str, Any] = schema_root()["properties"]
    parts = path.split(".")
    current = current[parts[0]]
    for part in parts[1:]:
        current = current[part]
    return current


def test_committed_crd_equals_the_generated_one() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == crd.render(), "crds/ is stale: run `make crds`"


def test_committed_crd_is_a_single_yaml_document_matching_crd() -> None:
    assert yaml.safe_load(COMMITTED.read_text(encoding="utf-8")) == crd.crd()


@pytest.mark.parametrize(("path", "cls"), spec_classes(), ids=lambda v: getattr(v, "__name__", v))
def test_schema_object_matches_its_dataclass(path: str, cls: type) -> None:
    schema = node(path)
    hints = typing.get_type_hints(cls)
    by_json = {field_info(f).name: f for f in dataclasses.fields(cls)}

    assert set(schema["properties"]) == set(by_json)
    required = {
        name
        for name, f in by_json.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    assert set(schema.get("required", [])) == required
    for name, f in by_json.items():
        prop = schema["properties"][name]
        hint, _ = unwrap_optional(hints[f.name])
        if typing.get_origin(hint) is Literal:
            assert prop["enum"] == list(typing.get_args(hint)), name
        if f.default_factory is not dataclasses.MISSING:
            expected = dump(f.default_factory())
            assert prop.get("default") == (expected or None), name
        elif f.default is dataclasses.MISSING or f.default is None or f.default == ():
            assert "default" not in prop, name
        else:
            assert prop["default"] == dump(f.default), name
        assert prop["description"] == field_info(f).doc
    rules = [r.to_schema() for r in rules_of(cls)]
    assert schema.get("x-kubernetes-validations", []) == rules


def test_every_status_key_is_documented_and_described_in_the_crd() -> None:
    status = schema_root()["properties"]["status"]

    def walk(schema: dict[str, Any], prefix: str) -> list[str]:
        keys = []
        for key, prop in schema.get("properties", {}).items():
            path = f"{prefix}{key}"
            keys.append(path)
            assert prop.get("description") == DOCS[path]
            inner = prop.get("items", prop)
            keys += walk(inner, f"{path}.")
        return keys

    assert sorted(walk(status, "")) == sorted(DOCS)
    assert set(typing.get_type_hints(ModelMonitorStatus)) == set(status["properties"])


def test_status_lists_keyed_by_name_or_type_are_map_lists() -> None:
    status = schema_root()["properties"]["status"]["properties"]
    conditions = status["conditions"]
    features = status["drift"]["properties"]["features"]
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert features["x-kubernetes-list-map-keys"] == ["name"]
    assert conditions["items"]["required"][:2] == ["type", "status"]
    assert "Ready" in CONDITION_TYPES


def test_crd_names_printer_columns_and_status_subresource() -> None:
    document = crd.crd()
    names = document["spec"]["names"]
    version = document["spec"]["versions"][0]
    assert document["metadata"]["name"] == "modelmonitors.kubedrift.io"
    assert (names["kind"], names["shortNames"], names["categories"]) == (
        "ModelMonitor",
        ["mmon"],
        ["kubedrift"],
    )
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"]] == [
        "Target",
        "Phase",
        "Drift share",
        "Metric value",
        "Retrains",
        "Version",  # the model version serving (status.retraining.modelVersion)
        "Age",
    ]


def test_features_are_a_map_list_keyed_by_name() -> None:
    features = node("spec.properties.features")
    assert features["x-kubernetes-list-type"] == "map"
    assert features["x-kubernetes-list-map-keys"] == ["name"]
    assert "name" in features["items"]["required"]


def test_write_creates_the_file_that_render_returns(tmp_path: Path) -> None:
    assert crd.main(["--write", str(tmp_path)]) == 0
    assert (tmp_path / crd.FILENAME).read_text(encoding="utf-8") == crd.render()


def test_status_requires_only_keys_not_marked_not_required() -> None:
    status = schema_root()["properties"]["status"]
    assert status["required"] == ["observedGeneration", "phase"]
    window = status["properties"]["window"]
    assert window["required"] == ["samples", "labeled"]


def test_committed_crd_uses_no_yaml_anchors() -> None:
    # Helm and some linters handle anchors poorly; shared sub-schemas are written out in full.
    text = COMMITTED.read_text(encoding="utf-8")
    assert "&id" not in text and "*id" not in text
