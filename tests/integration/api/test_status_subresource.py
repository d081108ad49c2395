"""The status subresource accepts the full status shape the operator writes, and the printer
columns read it."""

from __future__ import annotations

import json
from typing import Any

from kubedrift.api import crd
from kubedrift.api.status import ModelMonitorStatus

MONITOR: dict[str, Any] = {
    "apiVersion": f"{crd.GROUP}/{crd.VERSION}",
    "kind": crd.KIND,
    "metadata": {"name": "fraud-model"},
    "spec": {
        "target": {"deployment": "fraud-model", "port": 8080},
        "baseline": {"configMapRef": {"name": "fraud-baseline"}},
    },
}

STATUS: ModelMonitorStatus = {
    "observedGeneration": 1,
    "phase": "Degraded",
    "conditions": [
        {
            "type": "PerformanceDegraded",
            "status": "True",
            "reason": "BelowThreshold",
            "message": "accuracy lower bound 0.67 < 0.85",
            "lastTransitionTime": "2026-11-22T10:00:00Z",  # type: ignore[typeddict-item]
            "observedGeneration": 1,
        }
    ],
    "window": {"samples": 2000, "labeled": 640},
    "drift": {
        "share": 0.5,
        "drifted": True,
        "features": [
            {
                "name": "amount",
                "type": "numeric",
                "method": "ks",
                "statistic": 0.31,
                "pValue": 1e-9,
                "threshold": 0.05,
                "drifted": True,
            }
        ],
        "prediction": {"method": "chi2", "statistic": 3.2, "threshold": 0.05, "drifted": False},
    },
    "performance": {
        "metric": "accuracy",
        "value": 0.71,
        "lowerBound": 0.67,
        "upperBound": 0.75,
        "threshold": 0.85,
        "samples": 640,
        "degraded": True,
    },
    "sidecars": {"desired": 3, "reporting": 3},
    "retraining": {"count": 1, "lastJob": "fraud-model-retrain-1", "lastResult": "Succeeded"},
    "baseline": {"configMap": "fraud-baseline", "hash": "ab12"},
    "target": "Deployment/fraud-model",
}


def test_full_status_is_stored_and_shown_in_printer_columns(
    cluster: Any, modelmonitor_crd: str, api_namespace: str
) -> None:
    from kubernetes import client  # noqa: PLC0415

    custom = client.CustomObjectsApi(cluster.api_client())
    custom.create_namespaced_custom_object(
        crd.GROUP, crd.VERSION, api_namespace, crd.PLURAL, MONITOR
    )

    patched = custom.patch_namespaced_custom_object_status(
        crd.GROUP, crd.VERSION, api_namespace, crd.PLURAL, "fraud-model", {"status": STATUS}
    )
    assert patched["status"] == STATUS

    response = custom.list_namespaced_custom_object(
        crd.GROUP,
        crd.VERSION,
        api_namespace,
        crd.PLURAL,
        _headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
        _preload_content=False,
    )
    table = json.loads(response.data)
    columns = [c["name"] for c in table["columnDefinitions"]]
    row = dict(zip(columns, table["rows"][0]["cells"], strict=True))
    assert (row["Target"], row["Phase"], row["Drift share"]) == (
        "Deployment/fraud-model",
        "Degraded",
        0.5,
    )
    assert (row["Metric value"], row["Retrains"]) == (0.71, 1)


def test_status_with_an_unknown_phase_is_rejected(
    cluster: Any, modelmonitor_crd: str, api_namespace: str
) -> None:
    from kubernetes import client  # noqa: PLC0415

    custom = client.CustomObjectsApi(cluster.api_client())
    monitor = {**MONITOR, "metadata": {"name": "bad-phase"}}
    custom.create_namespaced_custom_object(
        crd.GROUP, crd.VERSION, api_namespace, crd.PLURAL, monitor
    )
    try:
        custom.patch_namespaced_custom_object_status(
            crd.GROUP,
            crd.VERSION,
            api_namespace,
            crd.PLURAL,
            "bad-phase",
            {"status": {"observedGeneration": 1, "phase": "Exploded"}},
        )
    except client.ApiException as error:
        assert error.status == 422
        assert "status.phase" in error.body
    else:
        raise AssertionError("an unknown phase was accepted")
