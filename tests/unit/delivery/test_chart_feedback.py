"""Labels reach the operator through its Service, and the operator reaches the sidecars' admin
port, with or without the chart's NetworkPolicies."""

from __future__ import annotations

import copy
from typing import Any

from support.chart_render import ALL_TOGGLES, Helm, find


def port_open(rules: list[dict[str, Any]], port: int) -> bool:
    """Whether some ingress rule without a ``from`` admits TCP ``port`` from anywhere."""
    return any(
        "from" not in rule
        and any(
            p["protocol"] == "TCP" and p["port"] <= port <= p.get("endPort", p["port"])
            for p in rule["ports"]
        )
        for rule in rules
    )


def test_operator_service_exposes_the_port_the_feedback_endpoint_listens_on(helm: Helm) -> None:
    values = {"metrics": {"port": 9090}}
    manifests = helm.manifests(values)

    (service,) = find(manifests, "Service")
    (container,) = find(manifests, "Deployment")[0]["spec"]["template"]["spec"]["containers"]
    assert service["spec"]["type"] == "ClusterIP"
    (port,) = service["spec"]["ports"]
    assert port["port"] == 9090
    (target,) = [p for p in container["ports"] if p["name"] == port["targetPort"]]
    assert target["containerPort"] == 9090
    assert "--listen=$(POD_IP):9090" in container["args"]


def test_network_policy_keeps_the_operator_port_open_even_when_it_selects_the_operator(
    helm: Helm,
) -> None:
    values = copy.deepcopy(ALL_TOGGLES)
    values["networkPolicy"]["namespaces"] = ["models", "kubedrift-system"]

    policies = find(helm.manifests(values), "NetworkPolicy")

    assert [p["metadata"]["namespace"] for p in policies] == ["models", "kubedrift-system"]
    for policy in policies:
        assert port_open(policy["spec"]["ingress"], 8080)
        assert not port_open(policy["spec"]["ingress"], 8481)
        operator_rule = policy["spec"]["ingress"][0]
        assert operator_rule["ports"] == [{"protocol": "TCP", "port": 8481}]
        assert (
            operator_rule["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
            == "operator"
        )
