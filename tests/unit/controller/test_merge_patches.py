"""Injection and rollout go to the Deployment as one patch (one rollout, not two)."""

from __future__ import annotations

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller.injection import plan_injection
from kubedrift.controller.preparation import merge_patches
from kubedrift.controller.rollout import plan_version_rollout
from support.controller_samples import MONITOR, OPTIONS, make_deployment


def test_injection_and_rollout_merge_into_one_patch(spec: ModelMonitorSpec) -> None:
    deployment = make_deployment()
    injection = plan_injection(deployment, spec, MONITOR, OPTIONS, "abc")
    rollout = plan_version_rollout(deployment, spec, "2")

    merged = merge_patches(injection, rollout)

    assert merged is not None
    template = merged["spec"]["template"]
    assert template["metadata"]["annotations"] == {
        "kubedrift.io/config-hash": "abc",
        "kubedrift.io/model-version": "2",
    }
    assert [c["name"] for c in template["spec"]["containers"]] == ["kubedrift-sidecar", "model"]
    assert merged["metadata"]["annotations"] == {"kubedrift.io/monitor": "fraud"}


def test_merging_with_nothing_keeps_the_other_patch() -> None:
    assert merge_patches(None, None) is None
    assert merge_patches({"a": 1}, None) == {"a": 1}
    assert merge_patches(None, {"b": 2}) == {"b": 2}
