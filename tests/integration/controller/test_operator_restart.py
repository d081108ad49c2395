"""A restart of the operator never creates a second retraining Job for the same trigger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from support.cluster_waiting import wait_for
from support.controller_harness import start_drifted_retraining_scenario


def test_operator_killed_right_after_creating_a_job_adopts_it_after_restart(
    kube: Any, start_operator: Callable[..., Any]
) -> None:
    first = start_operator()
    start_drifted_retraining_scenario(kube, HOLD_SECONDS="20")

    wait_for("the retraining Job", kube.jobs)
    first.kill()
    # Put the status back to before the Job was recorded, whether or not the killed operator got
    # that far: exactly the state a crash between "create Job" and "patch status" leaves behind.
    kube.custom.patch_namespaced_custom_object_status(
        "kubedrift.io", "v1alpha1", kube.namespace, "modelmonitors", "watch",
        {"status": {"retraining": None}}, _content_type="application/merge-patch+json",
    )  # fmt: skip
    assert "retraining" not in kube.status("watch")

    start_operator(first.port)  # the same address, as a Service in front of the Pod gives

    def adopted() -> dict[str, Any] | None:
        retraining = kube.status("watch").get("retraining") or {}
        return retraining if retraining.get("lastJob") else None

    retraining = wait_for("the restarted operator to record the Job", adopted)
    assert retraining["count"] == 1
    assert retraining["lastJob"] == "watch-retrain-1"
    assert any("adopted" in message for message in kube.events("RetrainingStarted"))

    def succeeded() -> dict[str, Any] | None:
        found = kube.status("watch").get("retraining") or {}
        return found if found.get("lastResult") == "Succeeded" else None

    wait_for("the adopted Job to succeed", succeeded)
    assert kube.jobs() == ["watch-retrain-1"]
