"""The query the operator lists a Deployment's Pods with, against the real API server: it returns
exactly the Pods the selector's rules pick, matchExpressions included.

The Pods ask for a node that does not exist, so they stay Pending and nothing runs them.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubedrift.controller.label_selectors import selector_query

PODS = {
    "stable-web": {"app": "m", "tier": "web"},
    "stable-api": {"app": "m", "tier": "api"},
    "canary-web": {"app": "m", "tier": "web", "canary": "yes"},
    "batch": {"app": "m", "tier": "batch"},
    "untiered": {"app": "m"},
    "other-app": {"app": "x", "tier": "web"},
}


def pod(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "nodeSelector": {"kubedrift.io/test-node": "none"},
            "containers": [{"name": "model", "image": "model:test"}],
        },
    }


@pytest.mark.parametrize(
    ("selector", "picked"),
    [
        ({"matchLabels": {"app": "m"}},
         {"stable-web", "stable-api", "canary-web", "batch", "untiered"}),
        ({"matchLabels": {"app": "m"},
          "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]},
                               {"key": "canary", "operator": "DoesNotExist"}]},
         {"stable-web", "stable-api"}),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"},
                               {"key": "tier", "operator": "NotIn", "values": ["batch"]},
                               {"key": "app", "operator": "In", "values": ["m"]}]},
         {"stable-web", "stable-api", "canary-web"}),
    ],
    ids=["labels-only", "in-and-does-not-exist", "exists-and-not-in"],
)  # fmt: skip
def test_the_api_server_lists_exactly_the_pods_the_selector_picks(
    cluster: Any, namespace: str, selector: dict[str, Any], picked: set[str]
) -> None:
    from kubernetes import client  # noqa: PLC0415

    api = client.CoreV1Api(cluster.api_client())
    for name, labels in PODS.items():
        api.create_namespaced_pod(namespace, pod(name, labels))

    listed = api.list_namespaced_pod(namespace, label_selector=selector_query(selector))

    assert {item.metadata.name for item in listed.items} == picked
