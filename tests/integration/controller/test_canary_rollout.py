"""Canary rollouts on the real control plane: the candidate serves a share of the live traffic
next to the serving model, and the operator judges the two models' own labeled rows.

As in ``test_promotion_gate.py``: version 1 predicts ``x > 0``, traffic drifts to x ~ N(1, 1)
with labels ``x > 1`` (version 1 is right on about two thirds), ``PerformanceDegraded`` starts a
Job. The Job reports version 3 (``x > 1``: right on every row) or version 4 (its inverse: wrong
on every row, a candidate trained as badly as one can be). With ``rollout.strategy: canary`` the
operator runs the candidate as ``model-kubedrift-candidate``, whose Pods keep the serving Pods'
``app: model`` label: a Service selecting ``app: model`` balances over one serving and one
candidate Pod. The test control plane runs no kube-proxy, so the test plays that Service and
sends the requests round robin to both Pods; the labels go once to the operator, whose fan-out
reaches every sidecar, and each model's sidecar joins the labels of the requests it answered.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from support.cluster_waiting import wait_for
from support.controller_harness import (
    candidate_gone,
    candidate_pod_ips,
    current_pod_ips,
    metric,
    scrape,
    start_gated_scenario,
    wait_for_trial_verdict,
)
from support.controller_traffic import send_requests
from support.json_post import post


def trial_ready(kube: Any) -> list[str] | None:
    """The IPs of the Pods a Service selecting ``app: model`` balances over, once the canary
    runs: the serving Pod and the candidate's, all ready."""
    trial = (kube.status("watch").get("retraining") or {}).get("trial") or {}
    if trial.get("strategy") != "canary":
        return None
    serving = current_pod_ips(kube, "1")
    candidates = candidate_pod_ips(kube)
    if not serving or not candidates:
        return None
    behind_service = [p["status"].get("podIP") for p in kube.pods("app=model")]
    if sorted(behind_service) != sorted(serving + candidates):
        return None  # a Pod the Service selects is not ready yet
    return serving + candidates


def run_canary(kube: Any, operator: Any, token: str) -> dict[str, Any]:
    """Traffic over both models, its labels posted once to the operator; status.retraining
    once the trial ended."""
    ips = wait_for("the canary to run", lambda: trial_ready(kube))
    labels = send_requests(ips, shift=1.0, rows=160, seed=5, prefix="canary")
    endpoint = f"http://127.0.0.1:{operator.port}/v1/feedback/{kube.namespace}/watch"
    answer = post(endpoint, [item for ip in ips for item in labels[ip]], token=token)
    assert answer["sidecars"] == {"desired": 2, "reporting": 2}
    assert answer["joined"] == 160  # each label joined on the sidecar that served the request
    return wait_for_trial_verdict(kube, "the canary's verdict")


def serving_replica_sets(kube: Any) -> set[str]:
    """Names of the ReplicaSets of the serving Deployment ``model``: one per Pod template it
    has run (each roll adds one)."""
    found = kube.apps.list_namespaced_replica_set(kube.namespace).items
    return {
        rs.metadata.name
        for rs in found
        if any(o.name == "model" for o in rs.metadata.owner_references or [])
    }


def labeled_report(ip: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://{ip}:8481/v1/labeled", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        report: dict[str, Any] = json.load(response)
    return report


def decisions(operator: Any, decision: str) -> float:
    text = scrape(f"http://127.0.0.1:{operator.port}/metrics")
    return metric(
        text, "kubedrift_operator_promotion_decisions_total", monitor="watch", decision=decision
    )


def test_a_canary_with_a_bad_candidate_is_rolled_back(kube: Any, operator: Any) -> None:
    token = start_gated_scenario(kube, new_version="4", strategy="canary")

    retraining = run_canary(kube, operator, token)

    assert retraining["lastResult"] == "Rejected"
    assert "modelVersion" not in retraining
    trial = retraining["trial"]
    assert (trial["strategy"], trial["result"]) == ("canary", "Rejected")
    assert (trial["servingRows"], trial["candidateRows"]) == (80, 80)
    gate = retraining["gate"]
    assert (gate["result"], gate["test"]) == ("Worse", "mixture-likelihood-ratio")
    assert gate["candidateAccuracy"] == 0.0
    assert 0.5 < gate["servingAccuracy"] < 0.8  # version 1 on the drifted traffic
    assert gate["pValue"] <= 0.05
    assert kube.events("CanaryTrialStarted")
    [rejected] = kube.events("RetrainingRejected")
    assert "canary of model version 4 rolled back, version 1 keeps serving" in rejected
    assert kube.condition("watch", "Retraining") == ("False", "Rejected")
    assert decisions(operator, "rejected") == 1
    assert wait_for("the candidate removed", lambda: candidate_gone(kube))
    assert [(e["version"], e["state"]) for e in retraining["history"]] == [
        ("4", "Rejected"),
        ("1", "Serving"),
    ]
    containers = kube.deployment("model")["spec"]["template"]["spec"]["containers"]
    [model] = [c for c in containers if c["name"] == "model"]
    assert {"name": "MODEL_VERSION", "value": "1"} in model["env"]


def test_a_canary_with_a_good_candidate_is_promoted(kube: Any, operator: Any) -> None:
    token = start_gated_scenario(kube, new_version="3", strategy="canary")
    before = serving_replica_sets(kube)

    retraining = run_canary(kube, operator, token)

    assert retraining["lastResult"] == "Succeeded"
    assert retraining["modelVersion"] == "3"
    assert retraining["trial"]["result"] == "Promoted"
    gate = retraining["gate"]
    assert (gate["result"], gate["servingRows"], gate["candidateRows"]) == ("Promoted", 80, 80)
    assert gate["candidateAccuracy"] == 1.0
    assert gate["pValue"] <= 0.05
    assert [(e["version"], e["state"]) for e in retraining["history"]] == [
        ("3", "Serving"),
        ("1", "Replaced"),
    ]
    [promoted] = kube.events("RetrainingSucceeded")
    assert "canary of model version 3 promoted over version 1" in promoted
    assert decisions(operator, "promoted") == 1
    assert wait_for("the candidate removed", lambda: candidate_gone(kube))
    [ip] = wait_for("Pods of model version 3", lambda: current_pod_ips(kube, "3"))
    # The serving sidecar says which version answered, from the promotion's one roll.
    assert labeled_report(ip, token)["pod"]["modelVersion"] == "3"
    assert len(serving_replica_sets(kube) - before) == 1


def test_a_canary_without_labels_ends_at_its_time_limit_and_the_serving_model_stays(
    kube: Any, operator: Any
) -> None:
    start_gated_scenario(kube, new_version="3", strategy="canary", rollout={"trialTimeout": "1s"})

    def ended() -> dict[str, Any] | None:  # no label reaches the candidate
        retraining = kube.status("watch").get("retraining") or {}
        return retraining if retraining.get("lastResult") == "Rejected" else None

    retraining = wait_for("the trial to end", ended)

    assert retraining["trial"]["result"] == "TimedOut"
    assert retraining["trial"]["candidateRows"] == 0
    assert retraining["gate"]["result"] == "NotEnoughHeldOutLabels"
    assert "modelVersion" not in retraining
    [timed_out] = kube.events("TrialTimedOut")
    assert "reached rollout.trialTimeout (1s) undecided" in timed_out
    assert kube.condition("watch", "Retraining") == ("False", "TrialTimedOut")
    assert decisions(operator, "not_enough_held_out") == 1
    assert wait_for("the candidate removed", lambda: candidate_gone(kube))


def test_a_canary_whose_predictions_drift_from_its_baseline_is_rolled_back_by_the_engine(
    kube: Any, operator: Any
) -> None:
    # Version 2 predicts x > 3: on this traffic (x ~ N(1, 1)) almost always 0, where its
    # baseline (x > 1 on N(1, 1)) says half the time. No label is sent, so the comparison
    # waits; the monitor's engine on the candidate's own window decides.
    start_gated_scenario(kube, new_version="2", strategy="canary")
    ips = wait_for("the canary to run", lambda: trial_ready(kube))
    send_requests(ips, shift=1.0, rows=300, seed=6, prefix="unlabeled")

    retraining = wait_for_trial_verdict(kube, "the engine's verdict")

    assert retraining["lastResult"] == "Rejected"
    assert "modelVersion" not in retraining
    assert (retraining["trial"]["result"], retraining["trial"]["candidateRows"]) == ("Rejected", 0)
    assert retraining["gate"]["result"] == "Alarmed"
    [rejected] = kube.events("RetrainingRejected")
    assert "canary of model version 2 rolled back (CandidatePredictionDrift)" in rejected
    assert "the candidate's predictions drifted from its baseline" in rejected
    assert kube.condition("watch", "Retraining") == ("False", "Rejected")
    assert wait_for("the candidate removed", lambda: candidate_gone(kube))
