"""The Job's result contract and the rollout of the new model version."""

from __future__ import annotations

import pytest

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller.injection import build_sidecar_container
from kubedrift.controller.rollout import (
    BaselineRef,
    HeldOutScores,
    ResultError,
    RetrainingResult,
    current_model_version,
    parse_result,
    plan_version_rollout,
    termination_message,
)
from support.controller_samples import MONITOR, OPTIONS, SPEC, make_deployment, make_spec


@pytest.mark.parametrize(
    ("message", "result"),
    [
        ('{"modelVersion": "2"}', RetrainingResult("2")),
        (
            '{"modelVersion": "3", "baseline": {"configMap": "b3"}}',
            RetrainingResult("3", BaselineRef("b3", "baseline.json")),
        ),
        (
            '{"modelVersion": "3", "baseline": {"configMap": "b3", "key": "p.json"}}',
            RetrainingResult("3", BaselineRef("b3", "p.json")),
        ),
        (
            '{"modelVersion": "4", "heldOut": {"serving": "0110", "candidate": "1101"}}',
            RetrainingResult(
                "4",
                held_out=HeldOutScores((False, True, True, False), (True, True, False, True)),
            ),
        ),
    ],
)
def test_result_contract_is_parsed(message: str, result: RetrainingResult) -> None:
    assert parse_result(message) == result


@pytest.mark.parametrize(
    ("message", "complaint"),
    [
        ("done", "not JSON"),
        ("[1]", "JSON object"),
        ('{"modelVersion": 2}', "modelVersion"),
        ('{"modelVersion": ""}', "modelVersion"),
        ('{"modelVersion": "2", "baseline": "b"}', "configMap"),
        ('{"modelVersion": "2", "baseline": {"configMap": "b", "key": ""}}', "key"),
        ('{"modelVersion": "2", "heldOut": [1, 0]}', "heldOut must be an object"),
        ('{"modelVersion": "2", "heldOut": {"serving": "01"}}', "heldOut.candidate"),
        ('{"modelVersion": "2", "heldOut": {"serving": "0x", "candidate": "01"}}', "0 and 1"),
        (
            '{"modelVersion": "2", "heldOut": {"serving": "011", "candidate": "01"}}',
            r"same rows \(3 and 2 given\)",
        ),
    ],
)
def test_broken_result_says_what_is_wrong(message: str, complaint: str) -> None:
    with pytest.raises(ResultError, match=complaint):
        parse_result(message)


def test_termination_message_comes_from_the_container_that_exited_zero() -> None:
    pods = [
        {"status": {"containerStatuses": [{"state": {"terminated": {"exitCode": 1,
                                                                    "message": "oom"}}}]}},
        {"status": {"containerStatuses": [{"state": {"terminated": {"exitCode": 0,
                                                                    "message": "{}"}}}]}},
    ]  # fmt: skip

    assert termination_message(pods) == "{}"
    with pytest.raises(ResultError):
        termination_message(pods[:1])


def test_rollout_sets_the_version_env_on_the_target_container(spec: ModelMonitorSpec) -> None:
    patch = plan_version_rollout(make_deployment(), spec, "2")

    assert patch == {
        "spec": {
            "template": {
                "metadata": {"annotations": {"kubedrift.io/model-version": "2"}},
                "spec": {
                    "containers": [{"name": "model", "env": [{"name": "MODEL_VERSION",
                                                              "value": "2"}]}]
                },
            }
        }
    }  # fmt: skip


def test_rollout_is_idempotent_once_the_version_runs(spec: ModelMonitorSpec) -> None:
    deployment = make_deployment()
    deployment["spec"]["template"]["metadata"]["annotations"] = {"kubedrift.io/model-version": "2"}
    deployment["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "2"

    assert plan_version_rollout(deployment, spec, "2") is None
    assert current_model_version(deployment, spec) == "2"


def test_strategy_none_leaves_the_deployment_alone() -> None:
    spec = make_spec(
        retraining={
            "triggers": ["DriftDetected"],
            "template": SPEC["retraining"]["template"],
            "rollout": {"strategy": "none"},
        }
    )

    assert plan_version_rollout(make_deployment(), spec, "2") is None


def test_serving_sidecars_read_the_model_version_that_the_promotion_sets_in_its_one_patch(
    spec: ModelMonitorSpec,
) -> None:
    # The injected sidecar takes KUBEDRIFT_MODEL_VERSION from the Pod annotation (downward
    # API); the rollout's patch sets that annotation with the model's version env, and leaves
    # the sidecar container alone: the promotion's one roll also relabels the sidecar's rows.
    sidecar = build_sidecar_container(spec, MONITOR, OPTIONS)
    [version_env] = [e for e in sidecar["env"] if e["name"] == "KUBEDRIFT_MODEL_VERSION"]
    patch = plan_version_rollout(make_deployment(), spec, "2")

    assert version_env["valueFrom"] == {
        "fieldRef": {"fieldPath": "metadata.annotations['kubedrift.io/model-version']"}
    }
    assert patch is not None
    template = patch["spec"]["template"]
    assert template["metadata"]["annotations"] == {"kubedrift.io/model-version": "2"}
    assert [c["name"] for c in template["spec"]["containers"]] == ["model"]
