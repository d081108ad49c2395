"""Monitors of different models of one workload share its one sidecar (controller/sharing.py)."""

from __future__ import annotations

from typing import Any

import pytest

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller.injection import InjectionError, plan_injection
from kubedrift.controller.names import (
    CONFIG_HASH_ANNOTATION,
    MEMBERS_ANNOTATION,
    MONITOR_ANNOTATION,
    MonitorRef,
)
from kubedrift.controller.preparation import files_at_root
from kubedrift.controller.sharing import (
    members_hash,
    members_of,
    plan_member_injection,
    plan_member_removal,
)
from kubedrift.controller.sidecar_config import render_sidecar_config
from support.controller_samples import OPTIONS, SPEC, make_deployment, make_spec
from support.strategic_merge import apply_patch

IRIS = MonitorRef(namespace="ml", name="iris-monitor", uid="uid-iris")
WINE = MonitorRef(namespace="ml", name="wine-monitor", uid="uid-wine")


def model_spec(model: str | None, **capture: Any) -> ModelMonitorSpec:
    return make_spec(
        target={**SPEC["target"], **({"model": model} if model else {})},
        capture=capture or None,
    )


def inject(
    workload: dict[str, Any], spec: ModelMonitorSpec, monitor: MonitorRef, digest: str
) -> dict[str, Any]:
    patch = plan_member_injection(workload, spec, monitor, OPTIONS, digest)
    assert patch is not None
    return apply_patch(workload, patch)


def sidecar(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "kubedrift-sidecar")


@pytest.fixture
def shared() -> dict[str, Any]:
    workload = inject(make_deployment(), model_spec("iris"), IRIS, "hash-iris")
    return inject(workload, model_spec("wine"), WINE, "hash-wine")


def test_two_monitors_of_different_models_share_one_sidecar_with_an_entry_each(
    shared: dict[str, Any],
) -> None:
    container = sidecar(shared)
    assert [c["name"] for c in shared["spec"]["template"]["spec"]["containers"]] == [
        "model", "kubedrift-sidecar"
    ]  # fmt: skip
    # iris was alone first: its files stay at the root and its token in the unshared variable
    args = container["args"]
    assert args[args.index("--config") + 1] == "/etc/kubedrift/sidecar.yaml"
    assert args[args.index("--model-config") + 1] == "/etc/kubedrift/wine-monitor/sidecar.yaml"
    tokens = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["name"]
        for e in container["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert tokens == {
        "KUBEDRIFT_SIDECAR_TOKEN": "iris-monitor-kubedrift-token",
        "KUBEDRIFT_SIDECAR_TOKEN_wine-monitor": "wine-monitor-kubedrift-token",
    }
    (volume,) = shared["spec"]["template"]["spec"]["volumes"]
    maps = [s["configMap"] for s in volume["projected"]["sources"]]
    assert [(m["name"], [i["path"] for i in m["items"]]) for m in maps] == [
        ("iris-monitor-kubedrift-sidecar", ["sidecar.yaml", "baseline.json"]),
        ("wine-monitor-kubedrift-sidecar", ["wine-monitor/sidecar.yaml",
                                            "wine-monitor/baseline.json"]),
    ]  # fmt: skip
    assert members_of(shared)["iris-monitor"]["root"] is True
    assert {k: v["model"] for k, v in members_of(shared).items()} == {
        "iris-monitor": "iris", "wine-monitor": "wine"
    }  # fmt: skip
    template = shared["spec"]["template"]["metadata"]
    assert template["annotations"][CONFIG_HASH_ANNOTATION] == members_hash(members_of(shared))
    assert shared["metadata"]["annotations"][MONITOR_ANNOTATION] == "iris-monitor"
    # applied again, nothing is missing
    assert plan_member_injection(shared, model_spec("wine"), WINE, OPTIONS, "hash-wine") is None


def test_each_members_config_names_its_own_folder_and_token() -> None:
    config = render_sidecar_config(model_spec("wine"), monitor="wine-monitor")
    assert config["baseline"] == "/etc/kubedrift/wine-monitor/baseline.json"
    assert config["auth"] == {"tokenEnv": "KUBEDRIFT_SIDECAR_TOKEN_wine-monitor"}
    assert config["model"] == "wine"
    unshared = render_sidecar_config(model_spec(None), monitor="fraud")
    assert unshared["baseline"] == "/etc/kubedrift/baseline.json"


def test_a_changed_member_rolls_the_pods_through_the_combined_hash(shared: dict[str, Any]) -> None:
    before = shared["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH_ANNOTATION]
    changed = inject(shared, model_spec("wine"), WINE, "hash-wine-2")
    after = changed["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH_ANNOTATION]
    assert before != after


def test_a_second_monitor_of_the_same_model_is_refused_naming_the_first(
    shared: dict[str, Any],
) -> None:
    other = MonitorRef(namespace="ml", name="iris-again", uid="uid-3")
    with pytest.raises(InjectionError) as refused:
        plan_member_injection(shared, model_spec("iris"), other, OPTIONS, "h")
    assert refused.value.reason == "TargetAlreadyMonitored"
    assert "model iris of Deployment fraud-model is already monitored by ModelMonitor" in str(
        refused.value
    )
    assert "iris-monitor" in str(refused.value)


def test_a_monitor_of_the_whole_port_shares_with_nobody(shared: dict[str, Any]) -> None:
    whole = MonitorRef(namespace="ml", name="all", uid="uid-4")
    with pytest.raises(InjectionError, match=r"set spec\.target\.model to share") as refused:
        plan_injection(shared, model_spec(None), whole, OPTIONS, "h")
    assert refused.value.reason == "TargetAlreadyMonitored"
    patch = plan_injection(make_deployment(), model_spec(None), whole, OPTIONS, "h")
    assert patch is not None
    alone = apply_patch(make_deployment(), patch)
    with pytest.raises(InjectionError, match="for every model on its port"):
        plan_member_injection(alone, model_spec("iris"), IRIS, OPTIONS, "h")


def test_members_must_agree_on_the_one_containers_settings(shared: dict[str, Any]) -> None:
    rose = MonitorRef(namespace="ml", name="rose-monitor", uid="uid-5")
    with pytest.raises(InjectionError, match="adminPort=9191") as refused:
        plan_member_injection(shared, model_spec("rose", adminPort=9191), rose, OPTIONS, "h")
    assert refused.value.reason == "SidecarSettingsDiffer"


def test_deleting_one_member_keeps_the_sidecar_for_the_other(shared: dict[str, Any]) -> None:
    patch = plan_member_removal(shared, IRIS)
    assert patch is not None
    left = apply_patch(shared, patch)
    container = sidecar(left)
    assert container["args"][container["args"].index("--config") + 1] == (
        "/etc/kubedrift/wine-monitor/sidecar.yaml"
    )
    assert "--model-config" not in container["args"]
    assert [e["name"] for e in container["env"] if e["name"].startswith("KUBEDRIFT_SIDECAR")] == [
        "KUBEDRIFT_SIDECAR_TOKEN_wine-monitor"
    ]
    (volume,) = left["spec"]["template"]["spec"]["volumes"]
    assert [s["configMap"]["name"] for s in volume["projected"]["sources"]] == [
        "wine-monitor-kubedrift-sidecar"
    ]
    assert list(members_of(left)) == ["wine-monitor"]
    assert left["metadata"]["annotations"][MONITOR_ANNOTATION] == "wine-monitor"
    # the survivor, alone now, goes back to the unshared layout; then it is up to date
    patch = plan_member_injection(left, model_spec("wine"), WINE, OPTIONS, "hash-wine")
    assert patch is not None
    left = apply_patch(left, patch)
    unshared = apply_patch(
        make_deployment(),
        plan_injection(make_deployment(), model_spec("wine"), WINE, OPTIONS, "hash-wine") or {},
    )
    assert left["spec"]["template"] == unshared["spec"]["template"]
    assert plan_member_injection(left, model_spec("wine"), WINE, OPTIONS, "hash-wine") is None
    last = plan_member_removal(left, WINE)
    assert last is not None
    gone = apply_patch(left, last)
    assert [c["name"] for c in gone["spec"]["template"]["spec"]["containers"]] == ["model"]
    assert (
        "volumes" not in gone["spec"]["template"]["spec"]
        or not gone["spec"]["template"]["spec"]["volumes"]
    )
    assert MEMBERS_ANNOTATION not in gone["metadata"]["annotations"]
    assert MONITOR_ANNOTATION not in gone["metadata"]["annotations"]


def test_a_lone_monitor_of_one_model_renders_the_unshared_template() -> None:
    """A monitor with spec.target.model alone on its workload gets the unshared sidecar (files
    at /etc/kubedrift, token in KUBEDRIFT_SIDECAR_TOKEN), as before monitors of one model could
    share a sidecar: the template is pinned here, and a workload injected that way gets only the
    members annotation on the Deployment, which rolls no Pod."""
    spec = model_spec("iris")
    lone = inject(make_deployment(), spec, IRIS, "hash-iris")
    template = lone["spec"]["template"]
    container = sidecar(lone)
    assert container["args"][container["args"].index("--config") :][:2] == [
        "--config", "/etc/kubedrift/sidecar.yaml"
    ]  # fmt: skip
    assert "--model-config" not in container["args"]
    assert container["volumeMounts"] == [
        {"name": "kubedrift-config", "mountPath": "/etc/kubedrift", "readOnly": True}
    ]
    assert [e["name"] for e in container["env"]] == [
        "POD_IP", "KUBEDRIFT_MODEL_VERSION", "KUBEDRIFT_SIDECAR_TOKEN"
    ]  # fmt: skip
    assert template["spec"]["volumes"] == [
        {"name": "kubedrift-config", "configMap": {"name": "iris-monitor-kubedrift-sidecar"}}
    ]
    assert template["metadata"]["annotations"] == {CONFIG_HASH_ANNOTATION: "hash-iris"}
    unshared = plan_injection(make_deployment(), spec, IRIS, OPTIONS, "hash-iris")
    assert template == apply_patch(make_deployment(), unshared or {})["spec"]["template"]
    # its config has the unshared layout too (prepare renders it so while the monitor is alone)
    config = render_sidecar_config(spec)
    assert config["baseline"] == "/etc/kubedrift/baseline.json"
    assert config["auth"] == {"tokenEnv": "KUBEDRIFT_SIDECAR_TOKEN"}
    assert config["model"] == "iris"

    # a workload injected unshared: a metadata-only patch, then nothing
    before = apply_patch(make_deployment(), unshared or {})
    upgrade = plan_member_injection(before, spec, IRIS, OPTIONS, "hash-iris")
    assert upgrade is not None
    assert set(upgrade) == {"metadata"}
    assert (
        plan_member_injection(apply_patch(before, upgrade), spec, IRIS, OPTIONS, "hash-iris")
        is None
    )


def test_files_stay_at_the_root_only_for_a_monitor_alone_or_the_root_member(
    shared: dict[str, Any],
) -> None:
    assert files_at_root(make_deployment(), IRIS)
    assert files_at_root(shared, IRIS)
    assert not files_at_root(shared, WINE)
    rose = MonitorRef(namespace="ml", name="rose-monitor", uid="uid-5")
    assert not files_at_root(shared, rose)


def test_the_first_member_left_alone_gets_the_unshared_template_back_in_one_step(
    shared: dict[str, Any],
) -> None:
    patch = plan_member_removal(shared, WINE)
    assert patch is not None
    left = apply_patch(shared, patch)
    unshared = apply_patch(
        make_deployment(),
        plan_injection(make_deployment(), model_spec("iris"), IRIS, OPTIONS, "hash-iris") or {},
    )
    assert left["spec"]["template"] == unshared["spec"]["template"]
    assert members_of(left)["iris-monitor"]["root"] is True
    assert plan_member_injection(left, model_spec("iris"), IRIS, OPTIONS, "hash-iris") is None
