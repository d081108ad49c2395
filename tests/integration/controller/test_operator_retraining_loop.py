"""The whole loop on the real control plane: drifted traffic and labels through the running
sidecar -> status shows the drift and the degraded metric, Events once -> one retraining Job ->
its success rolls the Deployment to the new model version -> status is healthy again."""

from __future__ import annotations

from typing import Any

from support.cluster_waiting import wait_for
from support.controller_harness import current_pod_ips, start_drifted_retraining_scenario
from support.controller_traffic import send_traffic


def test_drift_and_degradation_lead_to_one_retraining_and_a_rollout(
    kube: Any, operator: Any
) -> None:
    _, token = start_drifted_retraining_scenario(kube)

    def judged() -> dict[str, Any] | None:
        status = kube.status("watch")
        return status if "drift" in status and "performance" in status else None

    status = wait_for("a drift verdict in status", judged)
    assert [(f["name"], f["drifted"]) for f in status["drift"]["features"]] == [("x", True)]
    assert status["performance"]["degraded"] is True
    assert status["performance"]["value"] < 0.8
    assert kube.condition("watch", "DriftDetected")[0] == "True"
    assert kube.condition("watch", "PerformanceDegraded")[0] == "True"

    def succeeded() -> dict[str, Any] | None:
        retraining = kube.status("watch").get("retraining") or {}
        return retraining if retraining.get("lastResult") == "Succeeded" else None

    retraining = wait_for("the retraining Job to succeed", succeeded)
    assert retraining["count"] == 1
    assert retraining["lastJob"] == "watch-retrain-1"
    assert retraining["lastTrigger"] == "PerformanceDegraded"
    assert retraining["modelVersion"] == "2"
    assert kube.jobs() == ["watch-retrain-1"]

    new_ips = wait_for("Pods of model version 2", lambda: current_pod_ips(kube, "2"))
    assert kube.status("watch")["baseline"]["configMap"] == "watch-kubedrift-baseline"

    send_traffic(new_ips, shift=3.0, rows=300, seed=4, admin_token=token, prefix="after")

    def healthy() -> dict[str, Any] | None:
        found = kube.status("watch")
        labeled = (found.get("performance") or {}).get("samples", 0) >= 100
        return found if found.get("phase") == "Healthy" and labeled else None

    final = wait_for("phase Healthy after the rollout", healthy)
    assert final["performance"]["degraded"] is False
    assert final["drift"]["drifted"] is False
    assert kube.condition("watch", "Retraining") == ("False", "Succeeded")
    assert kube.jobs() == ["watch-retrain-1"]
    # The rollout's fresh windows pass through Unknown (NoData); the recovery is announced when
    # they hold enough data again.
    for reason in ("DriftDetected", "PerformanceDegraded", "RetrainingStarted",
                   "RetrainingSucceeded", "DriftResolved", "PerformanceRecovered"):  # fmt: skip
        assert len(kube.events(reason)) == 1, reason
    assert kube.events("RetrainingFailed") == []


def test_a_job_name_taken_by_another_owner_is_one_warning_counted_every_round(
    kube: Any, operator: Any
) -> None:
    foreign = {
        "metadata": {"name": "watch-retrain-1"},
        "spec": {
            "suspend": True,  # never runs
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "other", "image": "other:1"}],
                }
            },
        },
    }
    kube.batch.create_namespaced_job(kube.namespace, foreign)
    start_drifted_retraining_scenario(kube)

    def warned_three_times() -> list[Any] | None:
        found = kube.core.list_namespaced_event(kube.namespace).items
        taken = [e for e in found if e.reason == "JobNameTaken"]
        return taken if taken and sum(e.count for e in taken) >= 3 else None

    taken = wait_for("three rounds of JobNameTaken", warned_three_times)
    assert len(taken) == 1
    assert taken[0].type == "Warning"
    assert "watch-retrain-1 exists and belongs to another owner" in taken[0].message
    assert kube.jobs() == ["watch-retrain-1"]
    assert kube.events("RetrainingStarted") == []
