"""``helm install`` on the test cluster: the operator runs in-cluster under the chart's
ServiceAccount and RBAC (namespaced mode) in a namespace that enforces the Pod Security
"restricted" profile, and reconciles a ModelMonitor there: status written, sidecar injected and
admitted. What the operator is refused (a retraining Job's ServiceAccount off the allow-list)
ends as ``Ready=False`` with an Event.

Namespaced mode keeps this operator away from the other tests' namespaces; its Role carries the
very rules of the cluster-wide ClusterRole (one template, checked in tests/unit/delivery).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support.cluster_waiting import wait_for
from support.helm_tools import CHART, Tools
from support.model_objects import (
    OPERATOR,
    Namespace,
    create_monitored_model,
    model_monitor,
    ready,
    running,
)


@pytest.fixture
def restricted(cluster: Any, namespace: str) -> Namespace:
    """The test namespace, enforcing Pod Security "restricted"."""
    view = Namespace(cluster, namespace)
    view.core.patch_namespace(
        namespace, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}
    )
    return view


@pytest.fixture
def installed(
    tools: Tools, modelmonitor_crd: str, restricted: Namespace, cluster: Any
) -> Iterator[Namespace]:
    """The chart installed into the restricted namespace, watching only that namespace."""
    release = f"kd-{restricted.name[-6:]}"
    try:
        tools.run(
            "helm", "install", release, str(CHART), "-n", restricted.name, "--skip-crds",
            "--set", f"watchNamespaces={{{restricted.name}}}",
            "--set", "retraining.allowedServiceAccounts={trainer}",
        )  # fmt: skip
        wait_for(
            "the operator Pod to be ready",
            lambda: any(ready(p, "operator") for p in restricted.pods(OPERATOR)),
        )
        yield restricted
    finally:
        for pod in restricted.pods(OPERATOR):
            print(pod.get("status"))
        for path, text in cluster.container_logs(restricted.name).items():
            print(f"--- {path}\n{text}")
        tools.run("helm", "uninstall", release, "-n", restricted.name, "--wait", check=False)


def test_restricted_namespace_really_refuses_a_privileged_pod(restricted: Namespace) -> None:
    from kubernetes.client import ApiException  # noqa: PLC0415

    pod = {
        "metadata": {"name": "privileged"},
        "spec": {
            "containers": [{"name": "c", "image": "x", "securityContext": {"privileged": True}}]
        },
    }
    with pytest.raises(ApiException) as refused:
        restricted.core.create_namespaced_pod(restricted.name, pod, dry_run="All")
    assert refused.value.status == 403
    assert "violates PodSecurity" in str(refused.value.body)


def test_installed_operator_reconciles_a_monitor_under_its_service_account(
    installed: Namespace,
) -> None:
    (operator,) = installed.pods(OPERATOR)
    assert operator["spec"]["serviceAccountName"] == f"kd-{installed.name[-6:]}-kubedrift"
    assert operator["spec"]["securityContext"]["runAsNonRoot"] is True
    create_monitored_model(installed, "watched")

    wait_for(
        "the monitor to become Ready",
        lambda: (installed.condition("watched", "Ready") or {}).get("status") == "True",
    )
    assert installed.events("SidecarInjected")

    def injected_pod() -> dict[str, Any] | None:
        pods = [p for p in installed.pods("app=model") if running(p, "kubedrift-sidecar")]
        return pods[0] if pods else None

    pod = wait_for("a model Pod running the injected sidecar", injected_pod)
    sidecar = next(c for c in pod["spec"]["containers"] if c["name"] == "kubedrift-sidecar")
    token = next(e for e in sidecar["env"] if e["name"] == "KUBEDRIFT_SIDECAR_TOKEN")
    assert "value" not in token
    assert token["valueFrom"]["secretKeyRef"]["name"].startswith("watched")
    wait_for(
        "the sidecar to report to the operator",
        lambda: (installed.status("watched").get("sidecars") or {}).get("reporting") == 1,
    )


def test_retraining_service_account_off_the_allow_list_is_refused_with_an_event(
    installed: Namespace,
) -> None:
    installed.custom.create_namespaced_custom_object(
        "kubedrift.io",
        "v1alpha1",
        installed.name,
        "modelmonitors",
        model_monitor("escalating", serviceAccountName="cluster-admin"),
    )
    condition = wait_for("Ready=False", lambda: installed.condition("escalating", "Ready"))
    assert condition["status"] == "False"
    assert condition["reason"] == "RetrainingForbidden"
    assert condition["message"] == (
        "spec.retraining.serviceAccountName: 'cluster-admin' is not on the operator's "
        "allow-list (allowed: trainer)"
    )
    messages = wait_for("the Event", lambda: installed.events("RetrainingForbidden"))
    assert messages == [condition["message"]]

    # Allowed, then refused again: the same Event again, counted on the first one (the
    # operator's role lets it patch Events).
    for account, reason in [("trainer", "DeploymentNotFound"),
                            ("cluster-admin", "RetrainingForbidden")]:  # fmt: skip
        installed.custom.patch_namespaced_custom_object(
            "kubedrift.io", "v1alpha1", installed.name, "modelmonitors", "escalating",
            {"spec": {"retraining": {"serviceAccountName": account}}},
        )  # fmt: skip

        def ready_reason(wanted: str = reason) -> bool:
            return (installed.condition("escalating", "Ready") or {}).get("reason") == wanted

        wait_for(f"Ready=False for {reason}", ready_reason)

    def counted_twice() -> list[Any] | None:
        found = installed.core.list_namespaced_event(installed.name).items
        refused = [e for e in found if e.reason == "RetrainingForbidden"]
        return refused if sum(e.count or 1 for e in refused) == 2 else None

    refused = wait_for("the repeat counted", counted_twice)
    assert [e.count for e in refused] == [2]
