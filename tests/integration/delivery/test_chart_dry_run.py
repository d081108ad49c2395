"""Every object the chart renders is accepted by the real API server (server-side dry run)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from support.helm_tools import Tools


def toggles(namespace: str) -> dict[str, Any]:
    return {
        "watchNamespaces": [namespace],
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
        "grafanaDashboard": {"enabled": True},
        "networkPolicy": {
            "enabled": True,
            "namespaces": [namespace],
            "metricsNamespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "mon"}},
        },
        "retraining": {"allowedServiceAccounts": ["trainer"]},
    }


@pytest.mark.parametrize("mode", ["defaults", "every-toggle"])
def test_rendered_manifests_pass_server_side_dry_run(
    tools: Tools, namespace: str, monitoring_crd_stand_ins: None, mode: str
) -> None:
    values = {} if mode == "defaults" else toggles(namespace)
    rendered = tools.template(f"dry-{mode}", namespace, values)
    kinds = sorted(doc["kind"] for doc in yaml.safe_load_all(rendered) if doc)
    answer = tools.run(
        "kubectl", "apply", "--server-side", "--dry-run=server", "--field-manager=helm",
        "-n", namespace, "-f", "-", stdin=rendered,
    )  # fmt: skip
    applied = [line for line in answer.splitlines() if "(server dry run)" in line]
    assert len(applied) == len(kinds), answer
    if mode == "every-toggle":
        assert {"NetworkPolicy", "PodMonitor", "PrometheusRule", "ServiceMonitor"} <= set(kinds)
