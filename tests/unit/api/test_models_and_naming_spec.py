"""spec.target.model and kind, spec.capture.features and classes (issue 22)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubedrift.api.spec import (
    ClassNamesSpec,
    FeatureNamesSpec,
    FeatureRename,
    SpecError,
    parse_spec,
)

MINIMAL: dict[str, Any] = {
    "target": {"deployment": "iris", "port": 8080},
    "baseline": {"configMapRef": {"name": "iris-baseline"}},
}


def spec_with(section: str, **values: Any) -> dict[str, Any]:
    body = copy.deepcopy(MINIMAL)
    body.setdefault(section, {}).update(values)
    return body


def test_a_target_watches_every_model_by_default() -> None:
    assert parse_spec(MINIMAL).target.model is None


@pytest.mark.parametrize("model", ["iris", "iris-v2.1", "my_model", "/score/fraud*", "/"])
def test_a_model_is_a_name_or_a_path_pattern(model: str) -> None:
    assert parse_spec(spec_with("target", model=model)).target.model == model


@pytest.mark.parametrize("model", ["", "my model", "a/b"])
def test_a_model_with_white_space_or_an_inner_slash_is_refused(model: str) -> None:
    with pytest.raises(SpecError, match=r"spec\.target\.model"):
        parse_spec(spec_with("target", model=model))


def test_feature_names_by_position_and_by_name() -> None:
    features = {"positions": ["a", "b"], "names": [{"payload": "x", "feature": "a"}]}

    parsed = parse_spec(spec_with("capture", features=features)).capture.features

    assert parsed == FeatureNamesSpec(
        positions=("a", "b"), names=(FeatureRename(payload="x", feature="a"),)
    )


def test_a_payload_name_renamed_twice_is_refused() -> None:
    names = [{"payload": "x", "feature": "a"}, {"payload": "x", "feature": "b"}]

    with pytest.raises(SpecError, match=r"spec\.capture\.features\.names"):
        parse_spec(spec_with("capture", features={"names": names}))


@pytest.mark.parametrize(
    ("classes", "expected"),
    [
        ({"names": ["high", "low"]}, ClassNamesSpec(names=("high", "low"))),
        ({"fromBaseline": True}, ClassNamesSpec(from_baseline=True)),
    ],
)
def test_classes_come_from_a_list_or_from_the_baseline(
    classes: dict[str, Any], expected: ClassNamesSpec
) -> None:
    assert parse_spec(spec_with("capture", classes=classes)).capture.classes == expected


@pytest.mark.parametrize(
    "classes", [{}, {"fromBaseline": False}, {"names": ["a"], "fromBaseline": True}]
)
def test_classes_need_exactly_one_source(classes: dict[str, Any]) -> None:
    with pytest.raises(SpecError, match="exactly one"):
        parse_spec(spec_with("capture", classes=classes))


def test_a_target_is_a_deployment_by_default_and_may_be_a_statefulset() -> None:
    assert parse_spec(MINIMAL).target.kind == "Deployment"
    assert parse_spec(spec_with("target", kind="StatefulSet")).target.kind == "StatefulSet"


def test_other_workload_kinds_are_refused_naming_the_field() -> None:
    with pytest.raises(SpecError, match=r"spec\.target\.kind"):
        parse_spec(spec_with("target", kind="ReplicaSet"))


def test_the_prediction_output_is_named_and_reduced_by_argmax_by_default() -> None:
    capture = parse_spec(spec_with("capture", predictionOutput="predict_proba")).capture

    assert (capture.prediction_output, capture.prediction_reduce) == ("predict_proba", "argmax")


def test_an_unknown_reduction_is_refused_naming_the_field() -> None:
    with pytest.raises(SpecError, match=r"spec\.capture\.predictionReduce"):
        parse_spec(spec_with("capture", predictionReduce="mean"))
