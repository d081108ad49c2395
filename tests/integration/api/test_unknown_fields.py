"""Unknown fields: the API server prunes them by default and rejects them under strict field
validation (what kubectl uses), naming the field; parse_spec always rejects them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubedrift.api import crd
from kubedrift.api.spec import SpecError, parse_spec

SPEC: dict[str, Any] = {
    "target": {"deployment": "fraud-model", "port": 8080},
    "baseline": {"configMapRef": {"name": "fraud-baseline"}},
    "capture": {"sampelRate": 0.1},
}


def body(name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{crd.GROUP}/{crd.VERSION}",
        "kind": crd.KIND,
        "metadata": {"name": name},
        "spec": SPEC,
    }


def test_strict_field_validation_rejects_a_misspelt_field_by_name(
    cluster: Any, modelmonitor_crd: str, api_namespace: str
) -> None:
    from kubernetes import client  # noqa: PLC0415

    custom = client.CustomObjectsApi(cluster.api_client())
    with pytest.raises(client.ApiException) as caught:
        custom.create_namespaced_custom_object(
            crd.GROUP,
            crd.VERSION,
            api_namespace,
            crd.PLURAL,
            body("strict"),
            field_validation="Strict",
        )
    assert caught.value.status == 400
    assert 'unknown field "spec.capture.sampelRate"' in json.loads(caught.value.body)["message"]


def test_default_validation_prunes_the_field_which_parse_spec_refuses(
    cluster: Any, modelmonitor_crd: str, api_namespace: str
) -> None:
    from kubernetes import client  # noqa: PLC0415

    custom = client.CustomObjectsApi(cluster.api_client())
    stored = custom.create_namespaced_custom_object(
        crd.GROUP, crd.VERSION, api_namespace, crd.PLURAL, body("pruned"), field_validation="Ignore"
    )
    assert "sampelRate" not in stored["spec"]["capture"]
    assert stored["spec"]["capture"]["sampleRate"] == 1
    with pytest.raises(SpecError, match=r"spec\.capture\.sampelRate"):
        parse_spec(SPEC)
