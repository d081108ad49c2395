"""What the CRD cannot catch (a missing Deployment, a missing or broken baseline) gives
Ready=False with a clear reason, and the monitor recovers by itself once it is fixed."""

from __future__ import annotations

from typing import Any

from support.cluster_waiting import wait_for
from support.controller_harness import baseline_json, model_deployment, model_monitor


def test_missing_deployment_and_broken_baseline_give_ready_false_then_recover(
    kube: Any, operator: Any
) -> None:
    kube.create_monitor(model_monitor("watch", "model"))

    def reason() -> tuple[str, str] | None:
        return kube.condition("watch", "Ready")

    wait_for("DeploymentNotFound", lambda: reason() == ("False", "DeploymentNotFound"))
    status = kube.status("watch")
    assert status["phase"] == "Invalid"
    assert "Deployment model not found" in status["conditions"][0]["message"]

    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model"))
    wait_for("BaselineNotFound", lambda: reason() == ("False", "BaselineNotFound"))

    kube.create_baseline("model-baseline", '{"not": "a baseline"}')
    wait_for("BaselineInvalid", lambda: reason() == ("False", "BaselineInvalid"))

    kube.core.patch_namespaced_config_map(
        "model-baseline", kube.namespace, {"data": {"baseline.json": baseline_json(0.0, seed=1)}}
    )
    wait_for("Ready=True", lambda: reason() == ("True", "Monitoring"))
    assert kube.status("watch")["phase"] in ("NoData", "Healthy")
    assert len(kube.events("DeploymentNotFound")) == 1
    assert len(kube.events("BaselineInvalid")) == 1
    assert len(kube.events("Ready")) == 1
