"""The chart renders what a security review expects, for the defaults and every toggle."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from support.chart_render import ALL_TOGGLES, Helm, find

REPO = Path(__file__).resolve().parents[3]
#: Exactly the API requests of kubedrift/controller/ (client.py paths) and of kopf.
OPERATOR_RULES = [
    {"apiGroups": ["kubedrift.io"], "resources": ["modelmonitors"],
     "verbs": ["get", "list", "watch", "patch"]},
    {"apiGroups": ["kubedrift.io"], "resources": ["modelmonitors/status"], "verbs": ["patch"]},
    {"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": ["get", "patch"]},
    {"apiGroups": ["apps"], "resources": ["deployments"],
     "verbs": ["get", "create", "patch", "delete"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
    {"apiGroups": [""], "resources": ["services"], "verbs": ["get", "create", "patch", "delete"]},
    {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"],
     "verbs": ["get", "patch"]},
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "patch", "delete"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "create", "delete"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "create"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
]  # fmt: skip
CRD_RULES = [
    {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
     "verbs": ["get", "list", "watch"]},
]  # fmt: skip
#: kopf follows the namespaces it is given (namespaced mode only).
NAMESPACE_RULES = [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]}]


def test_chart_passes_helm_lint_with_defaults_and_every_toggle(helm: Helm, tmp_path: Path) -> None:
    toggles = tmp_path / "toggles.yaml"
    toggles.write_text(json.dumps(ALL_TOGGLES))
    for extra in ([], ["-f", str(toggles)]):
        answer = helm.run("lint", "--strict", str(helm.chart), *extra)
        assert "1 chart(s) linted, 0 chart(s) failed" in answer.stdout


def test_chart_crds_are_the_top_level_crds() -> None:
    top = sorted(p.name for p in (REPO / "crds").iterdir())
    chart = sorted(p.name for p in (REPO / "charts" / "kubedrift" / "crds").iterdir())
    assert chart == top
    for name in top:
        assert (REPO / "charts" / "kubedrift" / "crds" / name).read_bytes() == (
            REPO / "crds" / name
        ).read_bytes(), f"charts/kubedrift/crds/{name} differs from crds/{name}: run make crds"


def test_defaults_render_only_the_operator_its_account_rbac_and_metrics_service(
    helm: Helm,
) -> None:
    kinds = sorted(m["kind"] for m in helm.manifests())
    assert kinds == [
        "ClusterRole", "ClusterRole", "ClusterRoleBinding", "ClusterRoleBinding",
        "Deployment", "Service", "ServiceAccount",
    ]  # fmt: skip


def test_every_toggle_renders_its_objects(helm: Helm) -> None:
    kinds = sorted(m["kind"] for m in helm.manifests(ALL_TOGGLES))
    assert kinds == [
        "ClusterRole", "ClusterRole", "ClusterRoleBinding", "ClusterRoleBinding", "ConfigMap",
        "Deployment", "NetworkPolicy", "PodMonitor", "PrometheusRule", "Service",
        "ServiceAccount", "ServiceMonitor",
    ]  # fmt: skip


def test_cluster_wide_rbac_grants_exactly_what_the_operator_uses(helm: Helm) -> None:
    manifests = helm.manifests()
    assert find(manifests, "ClusterRole", "kd-kubedrift")[0]["rules"] == OPERATOR_RULES
    assert find(manifests, "ClusterRole", "kd-kubedrift-scanning")[0]["rules"] == CRD_RULES
    for binding in find(manifests, "ClusterRoleBinding"):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "kd-kubedrift", "namespace": "kubedrift-system"}
        ]


@pytest.mark.parametrize("values", [{}, ALL_TOGGLES, {"watchNamespaces": ["a", "b"]}])
def test_no_rule_uses_a_wildcard(helm: Helm, values: dict[str, Any]) -> None:
    for role in find(helm.manifests(values), "ClusterRole") + find(helm.manifests(values), "Role"):
        for rule in role["rules"]:
            for key in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[key], f"{role['metadata']['name']}: {rule}"


def test_namespaced_mode_has_a_role_per_namespace_and_cluster_scope_only_for_crds(
    helm: Helm,
) -> None:
    manifests = helm.manifests({"watchNamespaces": ["team-a", "team-b"]})
    assert [r["metadata"]["namespace"] for r in find(manifests, "Role")] == ["team-a", "team-b"]
    assert all(r["rules"] == OPERATOR_RULES for r in find(manifests, "Role"))
    assert [b["metadata"]["namespace"] for b in find(manifests, "RoleBinding")] == [
        "team-a",
        "team-b",
    ]
    assert [r["rules"] for r in find(manifests, "ClusterRole")] == [CRD_RULES + NAMESPACE_RULES]
    args = find(manifests, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:2] == ["--namespace=team-a", "--namespace=team-b"]
    assert "--all-namespaces" not in args


def test_operator_pod_meets_restricted_pod_security_and_runs_one_at_a_time(helm: Helm) -> None:
    deployment = find(helm.manifests(), "Deployment")[0]
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["command"] == ["kubedrift", "operator"]
    assert pod["serviceAccountName"] == "kd-kubedrift"


def test_operator_user_and_group_can_be_left_to_the_platform(helm: Helm) -> None:
    # OpenShift's restricted SCC assigns an arbitrary uid from the namespace's range and refuses
    # a Pod asking for another: null removes the chart's 65532.
    unset: dict[str, Any] = {"operator": {"runAsUser": None, "runAsGroup": None}}
    pod = find(helm.manifests(unset), "Deployment")[0]["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    given = {"operator": {"runAsUser": 1000730000, "runAsGroup": 1000730000}}
    pod = find(helm.manifests(given), "Deployment")[0]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == pod["securityContext"]["runAsGroup"] == 1000730000


def test_operator_names_itself_by_its_pod_name(helm: Helm) -> None:
    (container,) = find(helm.manifests(), "Deployment")[0]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}


def test_operator_flags_follow_the_values(helm: Helm) -> None:
    values = copy.deepcopy(ALL_TOGGLES)
    values["sidecar"] = {"image": "registry.example/kubedrift:2"}
    container = find(helm.manifests(values), "Deployment")[0]["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["args"] == [
        "--all-namespaces",
        "--listen=$(POD_IP):8080",
        "--log-level=INFO",
        "--sidecar-timeout=5",
        "--dataset-url=http://kubedrift.kubedrift-system.svc:8080",
        "--retraining-service-account=trainer",
    ]
    assert {
        "name": "KUBEDRIFT_SIDECAR_IMAGE",
        "value": "registry.example/kubedrift:2",
    } in container["env"]


def test_operator_env_carries_no_secret_as_a_plain_value(helm: Helm) -> None:
    pod = find(helm.manifests(ALL_TOGGLES), "Deployment")[0]["spec"]["template"]["spec"]
    for container in pod["containers"]:
        for env in container.get("env") or []:
            if any(word in env["name"] for word in ("TOKEN", "PASSWORD", "SECRET", "KEY")):
                assert "value" not in env, env


#: The Pods the operator injected: it labels them with their monitor's name.
INJECTED_PODS = {"matchExpressions": [{"key": "kubedrift.io/monitor", "operator": "Exists"}]}


def test_the_pod_monitor_scrapes_the_injected_pods_and_names_their_monitor(helm: Helm) -> None:
    (pods,) = find(helm.manifests(ALL_TOGGLES), "PodMonitor")

    assert pods["spec"]["selector"] == INJECTED_PODS
    assert pods["spec"]["podTargetLabels"] == ["kubedrift.io/monitor"]
    assert [e["port"] for e in pods["spec"]["podMetricsEndpoints"]] == ["kd-admin"]


def test_network_policy_opens_the_admin_port_to_the_operator_and_prometheus_only(
    helm: Helm,
) -> None:
    (policy,) = find(helm.manifests(ALL_TOGGLES), "NetworkPolicy")
    assert policy["metadata"]["namespace"] == "models"
    admin, others = policy["spec"]["ingress"]
    assert admin["ports"] == [{"protocol": "TCP", "port": 8481}]
    assert admin["from"] == [
        {
            "namespaceSelector": {
                "matchLabels": {"kubernetes.io/metadata.name": "kubedrift-system"}
            },
            "podSelector": {
                "matchLabels": {
                    "app.kubernetes.io/name": "kubedrift",
                    "app.kubernetes.io/instance": "kd",
                    "app.kubernetes.io/component": "operator",
                }
            },
        },
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
    ]
    assert "from" not in others
    assert policy["spec"]["podSelector"] == INJECTED_PODS
    assert others["ports"] == [
        {"protocol": "TCP", "port": 1, "endPort": 8480},
        {"protocol": "TCP", "port": 8482, "endPort": 65535},
        {"protocol": "UDP", "port": 1, "endPort": 65535},
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"image": {"pullPolicy": "Sometimes"}},
         "at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'"),
        ({"metrics": {"port": 80}}, "at '/metrics/port': minimum: got 80, want 1,024"),
        ({"watchNamespaces": ["Team_A"]}, "at '/watchNamespaces/0': 'Team_A' does not match"),
        ({"retraining": {"allowedServiceAccounts": ["admin!"]}},
         "at '/retraining/allowedServiceAccounts/0': 'admin!' does not match"),
        ({"networkPolicy": {"enabled": True}},
         "at '/networkPolicy/namespaces': minItems: got 0, want 1"),
        ({"prometheusRule": {"driftShareThreshold": 0.3}},
         "at '/prometheusRule': additional properties 'driftShareThreshold' not allowed"),
        ({"prometheusRule": {"for": "ten minutes"}}, "at '/prometheusRule/for': 'ten minutes'"),
        ({"serviceMonitor": {"enable": True}},
         "at '/serviceMonitor': additional properties 'enable' not allowed"),
        ({"serviceAccount": {"create": False}}, "at '/serviceAccount/name': '' does not match"),
        ({"operator": {"runAsUser": 0}}, "at '/operator/runAsUser': minimum"),
    ],
)  # fmt: skip
def test_schema_rejects_bad_values_naming_the_field(
    helm: Helm, values: dict[str, Any], message: str
) -> None:
    answer = helm.template(values, check=False)
    assert answer.returncode != 0
    assert message in answer.stderr
