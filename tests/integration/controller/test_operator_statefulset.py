"""A StatefulSet is a target like a Deployment: the sidecar is injected into its Pod template,
a spec change rolls its Pods, and deleting the monitor removes everything (issue 22)."""

from __future__ import annotations

from typing import Any

from support.cluster_waiting import wait_for
from support.controller_harness import baseline_json, model_deployment, model_monitor

HASH = "kubedrift.io/config-hash"


def model_statefulset(name: str) -> dict[str, Any]:
    body = model_deployment(name)
    body["kind"] = "StatefulSet"
    body["spec"]["serviceName"] = name
    return body


def statefulset(kube: Any, name: str) -> dict[str, Any]:
    answer: dict[str, Any] = kube.api.sanitize_for_serialization(
        kube.apps.read_namespaced_stateful_set(name, kube.namespace)
    )
    return answer


def sidecars_in(workload: dict[str, Any]) -> list[dict[str, Any]]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    return [c for c in containers if c["name"] == "kubedrift-sidecar"]


def ready_pod_with_hash(kube: Any, config_hash: str) -> dict[str, Any] | None:
    for pod in kube.pods("app=model"):
        statuses = pod.get("status", {}).get("containerStatuses") or []
        ready = {s["name"] for s in statuses if s.get("ready")}
        annotations = pod["metadata"].get("annotations") or {}
        if (
            {"model", "kubedrift-sidecar"} <= ready
            and annotations.get(HASH) == config_hash
            and not pod["metadata"].get("deletionTimestamp")
        ):
            return pod
    return None


def test_a_statefulset_gets_the_sidecar_rolls_on_a_spec_change_and_is_cleaned_up(
    kube: Any, operator: Any
) -> None:
    kube.create_baseline("model-baseline", baseline_json(0.0, seed=1))
    kube.apps.create_namespaced_stateful_set(kube.namespace, model_statefulset("model"))
    monitor = model_monitor("watch", "model")
    monitor["spec"]["target"]["kind"] = "StatefulSet"
    kube.create_monitor(monitor)

    wait_for("Ready=True", lambda: kube.condition("watch", "Ready") == ("True", "Monitoring"))
    injected = statefulset(kube, "model")
    assert len(sidecars_in(injected)) == 1
    assert injected["metadata"]["annotations"]["kubedrift.io/monitor"] == "watch"
    first_hash = injected["spec"]["template"]["metadata"]["annotations"][HASH]
    pod = wait_for(
        "the Pod model-0 with the sidecar", lambda: ready_pod_with_hash(kube, first_hash)
    )
    assert pod["metadata"]["name"] == "model-0"
    assert kube.events("SidecarInjected") == ["sidecar added to StatefulSet model"]
    wait_for(
        "the evaluation to read model-0's sidecar",
        lambda: kube.status("watch").get("sidecars") == {"desired": 1, "reporting": 1},
    )

    kube.custom.patch_namespaced_custom_object(
        "kubedrift.io", "v1alpha1", kube.namespace, "modelmonitors", "watch",
        {"spec": {"capture": {"sampleRate": 0.5}}},
    )  # fmt: skip

    def rehashed() -> str | None:
        found = statefulset(kube, "model")["spec"]["template"]["metadata"]["annotations"][HASH]
        return found if found != first_hash else None

    second_hash = wait_for("the config hash to follow the spec change", rehashed)
    wait_for("model-0 rolled with the new config", lambda: ready_pod_with_hash(kube, second_hash))
    assert len(sidecars_in(statefulset(kube, "model"))) == 1

    kube.custom.delete_namespaced_custom_object(
        "kubedrift.io", "v1alpha1", kube.namespace, "modelmonitors", "watch"
    )
    wait_for("the monitor to be gone", lambda: kube.monitor("watch") is None)
    cleaned = statefulset(kube, "model")
    template = cleaned["spec"]["template"]
    assert sidecars_in(cleaned) == []
    assert HASH not in (template["metadata"].get("annotations") or {})
    assert "kubedrift.io/monitor" not in (cleaned["metadata"].get("annotations") or {})
    names = {c.metadata.name for c in kube.core.list_namespaced_config_map(kube.namespace).items}
    assert "watch-kubedrift-sidecar" not in names


def test_a_missing_statefulset_is_reported_by_its_kind(kube: Any, operator: Any) -> None:
    kube.create_baseline("model-baseline", baseline_json(0.0, seed=1))
    monitor = model_monitor("watch", "model")
    monitor["spec"]["target"]["kind"] = "StatefulSet"
    kube.create_monitor(monitor)

    wait_for(
        "Ready=False StatefulSetNotFound",
        lambda: kube.condition("watch", "Ready") == ("False", "StatefulSetNotFound"),
    )
