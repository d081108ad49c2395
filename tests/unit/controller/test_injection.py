"""Injection plans: the sidecar is added once, updated in place, and removed without a trace."""

from __future__ import annotations

import pytest

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller.injection import (
    InjectionError,
    build_sidecar_container,
    plan_injection,
    plan_removal,
    plan_service_restore,
    plan_service_takeover,
)
from kubedrift.controller.names import MonitorRef
from support.controller_samples import MONITOR, OPTIONS, make_deployment, make_spec
from support.strategic_merge import apply_patch


def test_sidecar_binds_pod_ip_and_forwards_to_the_model_port(spec: ModelMonitorSpec) -> None:
    container = build_sidecar_container(spec, MONITOR, OPTIONS)

    assert container["command"] == ["kubedrift", "sidecar"]
    assert container["args"] == [
        "--config",
        "/etc/kubedrift/sidecar.yaml",
        "--listen",
        "$(POD_IP):8480",
        "--admin",
        "$(POD_IP):8481",
        "--upstream",
        "http://$(POD_IP):8080",
    ]
    assert container["env"][0] == {
        "name": "POD_IP",
        "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
    }
    assert {"name": "KUBEDRIFT_SIDECAR_TOKEN", "valueFrom": {"secretKeyRef": {
        "name": "fraud-kubedrift-token", "key": "sidecar-token"}}} in container["env"]  # fmt: skip
    assert container["image"] == "kubedrift:test"


def test_sidecar_security_context_is_restricted(spec: ModelMonitorSpec) -> None:
    context = build_sidecar_container(spec, MONITOR, OPTIONS)["securityContext"]

    assert context == {
        "runAsNonRoot": True,
        "runAsUser": 65534,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_mirror_mode_sidecar_has_no_upstream() -> None:
    spec = make_spec(capture={"mode": "mirror"})

    assert "--upstream" not in build_sidecar_container(spec, MONITOR, OPTIONS)["args"]


def test_injection_adds_container_volume_and_hash(spec: ModelMonitorSpec) -> None:
    patch = plan_injection(make_deployment(), spec, MONITOR, OPTIONS, "abc")

    assert patch is not None
    template = patch["spec"]["template"]
    assert patch["metadata"]["annotations"] == {"kubedrift.io/monitor": "fraud"}
    assert template["metadata"]["annotations"] == {"kubedrift.io/config-hash": "abc"}
    # The Pods carry the monitor's name, for NetworkPolicies, PodMonitors and kubectl -l.
    assert template["metadata"]["labels"] == {"kubedrift.io/monitor": "fraud"}
    assert [c["name"] for c in template["spec"]["containers"]] == ["kubedrift-sidecar"]
    assert template["spec"]["volumes"] == [
        {"name": "kubedrift-config", "configMap": {"name": "fraud-kubedrift-sidecar"}}
    ]


def test_injection_applied_twice_keeps_one_sidecar(spec: ModelMonitorSpec) -> None:
    deployment = make_deployment()
    for _ in range(2):
        patch = plan_injection(deployment, spec, MONITOR, OPTIONS, "abc")
        if patch is not None:
            deployment = apply_patch(deployment, patch)

    names = [c["name"] for c in deployment["spec"]["template"]["spec"]["containers"]]
    assert names == ["model", "kubedrift-sidecar"]
    assert plan_injection(deployment, spec, MONITOR, OPTIONS, "abc") is None


def test_server_defaults_do_not_make_the_sidecar_look_outdated(spec: ModelMonitorSpec) -> None:
    deployment = apply_patch(
        make_deployment(), plan_injection(make_deployment(), spec, MONITOR, OPTIONS, "abc") or {}
    )
    sidecar = deployment["spec"]["template"]["spec"]["containers"][1]
    sidecar["terminationMessagePath"] = "/dev/termination-log"
    sidecar["readinessProbe"]["timeoutSeconds"] = 1

    assert plan_injection(deployment, spec, MONITOR, OPTIONS, "abc") is None


def test_a_pod_label_removed_by_hand_is_put_back(spec: ModelMonitorSpec) -> None:
    deployment = apply_patch(
        make_deployment(), plan_injection(make_deployment(), spec, MONITOR, OPTIONS, "abc") or {}
    )
    del deployment["spec"]["template"]["metadata"]["labels"]["kubedrift.io/monitor"]

    patch = plan_injection(deployment, spec, MONITOR, OPTIONS, "abc")

    assert patch is not None
    assert patch["spec"]["template"]["metadata"]["labels"] == {"kubedrift.io/monitor": "fraud"}


def test_changed_config_hash_updates_the_sidecar_in_place(spec: ModelMonitorSpec) -> None:
    deployment = apply_patch(
        make_deployment(), plan_injection(make_deployment(), spec, MONITOR, OPTIONS, "abc") or {}
    )
    patch = plan_injection(deployment, spec, MONITOR, OPTIONS, "def")

    assert patch is not None
    updated = apply_patch(deployment, patch)
    template = updated["spec"]["template"]
    assert template["metadata"]["annotations"]["kubedrift.io/config-hash"] == "def"
    assert len(template["spec"]["containers"]) == 2


def test_deployment_of_another_monitor_is_refused(spec: ModelMonitorSpec) -> None:
    deployment = make_deployment()
    deployment["metadata"]["annotations"]["kubedrift.io/monitor"] = "other"

    with pytest.raises(InjectionError) as raised:
        plan_injection(deployment, spec, MONITOR, OPTIONS, "abc")
    assert raised.value.reason == "TargetAlreadyMonitored"


@pytest.mark.parametrize(
    ("container", "port", "reason"),
    [("missing", 1234, "ContainerNotFound"), ("model", 8480, "PortConflict")],
)
def test_unusable_deployment_names_the_reason(container: str, port: int, reason: str) -> None:
    spec = make_spec(target={"deployment": "fraud-model", "container": container, "port": 8080})
    deployment = make_deployment(
        containers=[{"name": "model", "image": "m", "ports": [{"containerPort": port}]}]
    )

    with pytest.raises(InjectionError) as raised:
        plan_injection(deployment, spec, MONITOR, OPTIONS, "abc")
    assert raised.value.reason == reason


def test_removal_restores_the_original_pod_template(spec: ModelMonitorSpec) -> None:
    original = make_deployment()
    injected = apply_patch(original, plan_injection(original, spec, MONITOR, OPTIONS, "abc") or {})
    removal = plan_removal(injected, MONITOR)

    assert removal is not None
    restored = apply_patch(injected, removal)
    assert restored["spec"]["template"] == original["spec"]["template"] | {
        "metadata": {"labels": {"app": "fraud"}, "annotations": {}}
    }
    assert restored["metadata"]["annotations"] == {}
    assert restored["spec"]["template"]["metadata"].get("annotations") == {}
    assert plan_removal(restored, MONITOR) is None


def test_removal_leaves_a_deployment_of_another_monitor_alone(spec: ModelMonitorSpec) -> None:
    other = MonitorRef("ml", "other", "uid-2")
    injected = apply_patch(
        make_deployment(), plan_injection(make_deployment(), spec, other, OPTIONS, "abc") or {}
    )

    assert plan_removal(injected, MONITOR) is None


def test_service_takeover_points_model_ports_at_the_sidecar_and_restores_them() -> None:
    spec = make_spec(
        target={"deployment": "fraud-model", "port": 8080, "service": "fraud"},
    )
    service = {
        "metadata": {"name": "fraud", "annotations": {}},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 9090, "targetPort": 9090}]},
    }

    takeover = plan_service_takeover(service, spec)
    assert takeover == {
        "metadata": {"annotations": {"kubedrift.io/original-target-ports": '{"80": 8080}'}},
        "spec": {"ports": [{"port": 80, "targetPort": 8480}]},
    }
    taken = apply_patch(service, takeover)
    assert plan_service_takeover(taken, spec) is None
    restored = apply_patch(taken, plan_service_restore(taken) or {})
    assert restored["spec"] == service["spec"]
    assert plan_service_restore(restored) is None
