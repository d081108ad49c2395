"""What parse_spec catches that the API server's schema does not (or cannot be asked), and the
round trip between typed specs and their wire form."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kubedrift.api import field_reference
from kubedrift.api.fields import field_info
from kubedrift.api.parsing import dump
from kubedrift.api.spec import ModelMonitorSpec, SpecError, parse_spec

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.yaml"))
MINIMAL: dict[str, Any] = {
    "target": {"deployment": "fraud-model", "port": 8080},
    "baseline": {"configMapRef": {"name": "fraud-baseline"}},
}


def test_unknown_field_is_an_error_although_the_server_would_prune_it() -> None:
    # The API server drops unknown fields (with a warning) unless asked for strict validation, so
    # a typo such as sampelRate silently means "default"; parse_spec names it instead.
    body = copy.deepcopy(MINIMAL)
    body["capture"] = {"sampelRate": 0.1}
    with pytest.raises(SpecError) as caught:
        parse_spec(body)
    assert caught.value.path == "spec.capture.sampelRate"
    assert "sampleRate" in caught.value.message


def test_unknown_job_template_key_is_an_error() -> None:
    body = copy.deepcopy(MINIMAL)
    body["retraining"] = {
        "template": {"spec": {"template": {"spec": {"containers": [{}]}}}, "x": 1}
    }
    with pytest.raises(SpecError) as caught:
        parse_spec(body)
    assert caught.value.path == "spec.retraining.template.x"


@pytest.mark.parametrize(
    ("value", "kind"),
    [([], "list"), ("spec", "string"), (None, "null"), (3, "number")],
)
def test_spec_that_is_not_an_object_is_named(value: Any, kind: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(value)
    assert (caught.value.path, caught.value.message) == ("spec", f"must be an object, got {kind}")


@pytest.mark.parametrize("value", [float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused(value: float) -> None:
    body = copy.deepcopy(MINIMAL)
    body["drift"] = {"minEffect": value}
    with pytest.raises(SpecError) as caught:
        parse_spec(body)
    assert caught.value.path == "spec.drift.minEffect"


def test_feature_list_item_that_is_not_an_object_is_named_by_index() -> None:
    body = copy.deepcopy(MINIMAL)
    body["features"] = [{"name": "a"}, "b"]
    with pytest.raises(SpecError) as caught:
        parse_spec(body)
    assert caught.value.path == "spec.features[1]"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_parses_and_its_wire_form_parses_back_to_the_same_spec(path: Path) -> None:
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec = parse_spec(manifest["spec"])
    assert parse_spec(dump(spec)) == spec


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_parsed_specs_are_hashable_so_they_can_key_caches(path: Path) -> None:
    spec = parse_spec(yaml.safe_load(path.read_text(encoding="utf-8"))["spec"])
    assert {spec: 1}[parse_spec(dump(spec))] == 1


def test_wire_form_of_the_minimal_spec_spells_out_every_default() -> None:
    wire = dump(parse_spec(MINIMAL))
    assert wire["capture"] == {
        "mode": "proxy",
        "protocol": "auto",
        "sampleRate": 1.0,
        "maxSamplesPerSecond": 200,
        "queueSize": 10000,
        "monitorPriority": "idle",
        "listenPort": 8480,
        "adminPort": 8481,
        "predictionReduce": "argmax",
    }
    assert wire["window"] == {"samples": 2000, "maxAge": "1h", "minSamples": 100}
    assert wire["features"] == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
SECTIONS = ["target", "capture", "baseline", "window", "drift", "features", "performance",
            "evaluation", "retraining", "alerts"]  # fmt: skip


@settings(derandomize=True, max_examples=300, deadline=None)
@given(section=st.sampled_from(SECTIONS), value=JSON)
def test_any_json_in_any_section_gives_a_spec_or_a_spec_error(section: str, value: Any) -> None:
    body = copy.deepcopy(MINIMAL)
    body[section] = value
    try:
        assert isinstance(parse_spec(body), ModelMonitorSpec)
    except SpecError as error:
        assert error.path.startswith(f"spec.{section}")


def test_every_pattern_is_anchored_so_python_and_the_api_server_agree() -> None:
    patterns = [
        field_info(f).pattern
        for _, cls in field_reference.sections()
        for f in dataclasses.fields(cls)
        if field_info(f).pattern is not None
    ]
    assert len(patterns) >= 10
    for pattern in patterns:
        assert pattern is not None and pattern.startswith("^") and pattern.endswith("$")


def test_trailing_newline_does_not_sneak_past_a_pattern() -> None:
    body = copy.deepcopy(MINIMAL)
    body["target"]["deployment"] = "fraud-model\n"
    with pytest.raises(SpecError) as caught:
        parse_spec(body)
    assert caught.value.path == "spec.target.deployment"
