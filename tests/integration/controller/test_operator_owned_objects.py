"""Objects the operator writes for a monitor come back when someone deletes or edits them: the
sidecar ConfigMap with the rendered config, and the token Secret with the very tokens the
running sidecars hold (new tokens would lock the operator out of them)."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import ApiException

from support.cluster_waiting import wait_for
from support.controller_harness import baseline_json, model_deployment, model_monitor

CONFIG_MAP = "watch-kubedrift-sidecar"
SECRET = "watch-kubedrift-token"


def read_or_none(read: Any, name: str, namespace: str) -> Any:
    try:
        return read(name, namespace)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


@pytest.fixture
def ready(kube: Any, start_operator: Any) -> Any:
    """The monitor ``watch`` Ready, its operator reading the objects again every second."""
    start_operator(args=("--recheck-interval", "1"))
    kube.create_baseline("model-baseline", baseline_json(0.0, seed=1))
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model"))
    kube.create_monitor(model_monitor("watch", "model"))
    wait_for("Ready=True", lambda: kube.condition("watch", "Ready") == ("True", "Monitoring"))
    return kube


def test_a_deleted_config_map_and_secret_are_written_back_with_the_same_content(
    ready: Any,
) -> None:
    kube = ready
    config = kube.core.read_namespaced_config_map(CONFIG_MAP, kube.namespace).data
    tokens = kube.core.read_namespaced_secret(SECRET, kube.namespace).data

    kube.core.delete_namespaced_config_map(CONFIG_MAP, kube.namespace)
    kube.core.delete_namespaced_secret(SECRET, kube.namespace)

    restored = wait_for(
        "the ConfigMap written back",
        lambda: read_or_none(kube.core.read_namespaced_config_map, CONFIG_MAP, kube.namespace),
    )
    assert restored.data == config
    secret = wait_for(
        "the Secret written back",
        lambda: read_or_none(kube.core.read_namespaced_secret, SECRET, kube.namespace),
    )
    assert secret.data == tokens
    assert secret.metadata.owner_references[0].name == "watch"


def test_a_config_map_edited_by_hand_gets_the_rendered_config_back(ready: Any) -> None:
    kube = ready
    rendered = kube.core.read_namespaced_config_map(CONFIG_MAP, kube.namespace).data

    kube.core.patch_namespaced_config_map(
        CONFIG_MAP, kube.namespace, {"data": {"sidecar.yaml": "sampleRate: 0.001\n"}}
    )

    wait_for(
        "the rendered config back",
        lambda: kube.core.read_namespaced_config_map(CONFIG_MAP, kube.namespace).data == rendered,
    )
