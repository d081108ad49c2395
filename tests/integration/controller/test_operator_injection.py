"""The operator injects the sidecar exactly once, keeps it in step with the monitor, and removes
everything it added when the monitor is deleted."""

from __future__ import annotations

from typing import Any

from support.cluster_waiting import wait_for
from support.controller_harness import baseline_json, model_deployment, model_monitor


def sidecars_in(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return [c for c in containers if c["name"] == "kubedrift-sidecar"]


def ready_pods_with_sidecar(kube: Any, app: str) -> list[dict[str, Any]]:
    pods = []
    for pod in kube.pods(f"app={app}"):
        statuses = pod.get("status", {}).get("containerStatuses") or []
        names = {s["name"] for s in statuses if s.get("ready")}
        if {"model", "kubedrift-sidecar"} <= names and not pod["metadata"].get("deletionTimestamp"):
            pods.append(pod)
    return pods


def test_sidecar_is_injected_once_updated_in_place_and_removed_on_delete(
    kube: Any, operator: Any
) -> None:
    kube.create_baseline("model-baseline", baseline_json(0.0, seed=1))
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model"))
    kube.create_monitor(model_monitor("watch", "model"))

    wait_for("Ready=True", lambda: kube.condition("watch", "Ready") == ("True", "Monitoring"))
    deployment = kube.deployment("model")
    assert len(sidecars_in(deployment)) == 1
    assert deployment["metadata"]["annotations"]["kubedrift.io/monitor"] == "watch"
    first_hash = deployment["spec"]["template"]["metadata"]["annotations"][
        "kubedrift.io/config-hash"
    ]
    (pod,) = wait_for(
        "a Pod running model and sidecar", lambda: ready_pods_with_sidecar(kube, "model")
    )
    assert pod["metadata"]["labels"]["kubedrift.io/monitor"] == "watch"
    assert [p["metadata"]["name"] for p in kube.pods("kubedrift.io/monitor=watch")] == [
        pod["metadata"]["name"]
    ]
    assert "finalizer" in str(kube.monitor("watch")["metadata"].get("finalizers"))

    kube.custom.patch_namespaced_custom_object(
        "kubedrift.io", "v1alpha1", kube.namespace, "modelmonitors", "watch",
        {"spec": {"capture": {"sampleRate": 0.5}}},
    )  # fmt: skip

    def rehashed() -> Any:
        found = kube.deployment("model")
        annotations = found["spec"]["template"]["metadata"]["annotations"]
        return found if annotations["kubedrift.io/config-hash"] != first_hash else None

    updated = wait_for("config hash to follow the spec change", rehashed)
    assert len(sidecars_in(updated)) == 1
    config = kube.core.read_namespaced_config_map("watch-kubedrift-sidecar", kube.namespace)
    assert "sampleRate: 0.5" in config.data["sidecar.yaml"]
    assert len(kube.events("SidecarInjected")) == 1

    kube.custom.delete_namespaced_custom_object(
        "kubedrift.io", "v1alpha1", kube.namespace, "modelmonitors", "watch"
    )
    wait_for("the monitor to be gone", lambda: kube.monitor("watch") is None)
    cleaned = kube.deployment("model")
    template = cleaned["spec"]["template"]
    assert sidecars_in(cleaned) == []
    assert "volumes" not in template["spec"]
    assert "kubedrift.io/config-hash" not in (template["metadata"].get("annotations") or {})
    assert "kubedrift.io/monitor" not in template["metadata"]["labels"]
    assert "kubedrift.io/monitor" not in (cleaned["metadata"].get("annotations") or {})
    names = {c.metadata.name for c in kube.core.list_namespaced_config_map(kube.namespace).items}
    assert "watch-kubedrift-sidecar" not in names
    secrets = {s.metadata.name for s in kube.core.list_namespaced_secret(kube.namespace).items}
    assert "watch-kubedrift-token" not in secrets
