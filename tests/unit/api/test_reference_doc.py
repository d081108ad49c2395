"""docs/modelmonitor.md is generated from the API types and names every spec field."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from kubedrift.api import field_reference
from kubedrift.api.fields import field_info
from kubedrift.api.status import DOCS

DOC = Path(__file__).resolve().parents[3] / "docs" / "modelmonitor.md"


def test_committed_reference_equals_the_generated_one() -> None:
    assert DOC.read_text(encoding="utf-8") == field_reference.render(), (
        "docs/modelmonitor.md is stale: run `make crds`"
    )


def test_every_spec_field_and_status_key_has_a_row() -> None:
    text = field_reference.render()
    for _, cls in field_reference.sections():
        for f in dataclasses.fields(cls):
            assert f"| `{field_info(f).name}` |" in text
    for key in DOCS:
        assert f"| `{key}` |" in text
