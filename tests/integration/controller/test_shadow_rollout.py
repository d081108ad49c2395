"""Shadow rollouts on the real control plane: the candidate answers copies of live requests and
the promotion gate judges both models on the same live labeled rows.

As in ``test_promotion_gate.py``: version 1 predicts ``x > 0``, traffic drifts to x ~ N(1, 1)
with labels ``x > 1`` (version 1 is right on about two thirds), ``PerformanceDegraded`` starts a
Job. The Job reports version 3 (``x > 1``: right on every row) or version 4 (its inverse: wrong
on every row, a candidate as bad as one can be). With ``rollout.strategy: shadow`` the operator
runs the candidate as ``model-kubedrift-candidate``, the serving sidecars copy each request to
it, and the labels of the same request ids reach both models' sidecars.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from support.cluster_waiting import wait_for
from support.controller_harness import (
    baseline_json,
    current_pod_ips,
    metric,
    model_deployment,
    model_monitor,
    scrape,
)
from support.controller_traffic import send_traffic
from support.json_post import post

PROMOTION = {"margin": 0.0, "confidence": 0.95, "minHeldOut": 50, "watchPeriod": "1h"}
CANDIDATE = "model-kubedrift-candidate"
CONFIG_HASH = "kubedrift.io/config-hash"


def start_shadow_scenario(kube: Any, *, new_version: str) -> str:
    """The gated scenario with ``strategy: shadow``, up to the trial's start. Returns the
    sidecar token."""
    kube.create_baseline("model-baseline", baseline_json(0.0, seed=1))
    kube.create_baseline("model-baseline-v3", baseline_json(1.0, seed=2))
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model"))
    monitor = model_monitor(
        "watch",
        "model",
        triggers=("PerformanceDegraded",),
        NEW_VERSION=new_version,
        NEW_BASELINE="model-baseline-v3",
    )
    monitor["spec"]["retraining"]["promotion"] = PROMOTION
    monitor["spec"]["retraining"]["rollout"]["strategy"] = "shadow"
    kube.create_monitor(monitor)
    ips = wait_for("a ready Pod with the sidecar", lambda: current_pod_ips(kube, "1"))
    token: str = kube.secret_value("watch-kubedrift-token", "sidecar-token")
    send_traffic(ips, shift=1.0, rows=300, seed=3, admin_token=token, prefix="drifted")
    return token


def trial_ready(kube: Any) -> tuple[list[str], list[str]] | None:
    """(serving IPs, candidate IPs) once the trial runs: the shadow URL is in the serving Pods'
    config (their config hash is the Deployment's, no Pod is terminating) and a candidate Pod
    is ready."""
    trial = (kube.status("watch").get("retraining") or {}).get("trial") or {}
    if not trial.get("shadowUrl"):
        return None
    wanted = kube.deployment("model")["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH]
    serving = current_pod_ips(kube, "1")
    pods = kube.pods("app=model")
    if not serving or any(p["metadata"]["annotations"].get(CONFIG_HASH) != wanted for p in pods):
        return None
    candidates = []
    for pod in kube.pods("kubedrift.io/model-role=candidate"):
        statuses = pod.get("status", {}).get("containerStatuses") or []
        ready = bool(statuses) and all(s.get("ready") for s in statuses)
        if ready and pod["metadata"].get("deletionTimestamp") is None:
            candidates.append(pod["status"]["podIP"])
    return (serving, candidates) if candidates else None


def mirrored(ips: list[str], rows: int) -> bool:
    """Whether the serving sidecars' shadow answered ``rows`` copies in all."""
    answered = 0.0
    for ip in ips:
        text = scrape(f"http://{ip}:8481/metrics")
        answered += metric(text, "kubedrift_shadow_requests_total", outcome="answered")
    return answered >= rows


def run_trial(kube: Any, token: str) -> dict[str, Any]:
    """Live traffic during the trial, its labels to both models' sidecars; status.retraining
    once the trial ended."""
    serving, candidates = wait_for("the shadow trial to run", lambda: trial_ready(kube))
    send_traffic(serving, shift=1.0, rows=120, seed=5, admin_token=token, prefix="trial")
    wait_for("the copies to be answered", lambda: mirrored(serving, 120) or None)
    values = np.random.default_rng(5).normal(loc=1.0, size=120)
    labels = [{"id": f"trial-{i}", "label": int(v > 1.0)} for i, v in enumerate(values)]
    for ip in candidates:
        post(f"http://{ip}:8481/v1/feedback", labels, token=token)

    def ended() -> dict[str, Any] | None:
        retraining = kube.status("watch").get("retraining") or {}
        return retraining if retraining.get("lastResult") in ("Succeeded", "Rejected") else None

    result: dict[str, Any] = wait_for("the trial's verdict", ended)
    return result


def candidate_gone(kube: Any) -> bool | None:
    from kubernetes.client import ApiException  # noqa: PLC0415

    try:
        kube.apps.read_namespaced_deployment(CANDIDATE, kube.namespace)
    except ApiException as error:
        return True if error.status == 404 else None
    return None


def test_a_good_shadow_is_promoted_on_the_same_live_rows(kube: Any, operator: Any) -> None:
    token = start_shadow_scenario(kube, new_version="3")

    retraining = run_trial(kube, token)

    assert retraining["lastResult"] == "Succeeded"
    assert retraining["modelVersion"] == "3"
    assert retraining["trial"]["result"] == "Promoted"
    gate = retraining["gate"]
    assert (gate["result"], gate["test"]) == ("Promoted", "exact-mcnemar")
    assert gate["heldOut"] >= 50
    assert gate["candidateAccuracy"] == 1.0
    assert [(e["version"], e["state"]) for e in retraining["history"]] == [
        ("3", "Serving"),
        ("1", "Replaced"),
    ]
    assert kube.events("ShadowTrialStarted")
    assert wait_for("the candidate removed", lambda: candidate_gone(kube))
    assert wait_for("Pods of model version 3", lambda: current_pod_ips(kube, "3"))


def test_a_bad_shadow_is_rejected_and_the_serving_model_stays(kube: Any, operator: Any) -> None:
    token = start_shadow_scenario(kube, new_version="4")

    retraining = run_trial(kube, token)

    assert retraining["lastResult"] == "Rejected"
    assert retraining["trial"]["result"] == "Rejected"
    assert "modelVersion" not in retraining
    assert retraining["gate"]["result"] == "NotBetter"
    assert retraining["gate"]["candidateAccuracy"] == 0.0
    [rejected] = kube.events("RetrainingRejected")
    assert "shadow of model version 4 not promoted" in rejected
    assert wait_for("the candidate removed", lambda: candidate_gone(kube))
    containers = kube.deployment("model")["spec"]["template"]["spec"]["containers"]
    [model] = [c for c in containers if c["name"] == "model"]
    assert {"name": "MODEL_VERSION", "value": "1"} in model["env"]
