"""Shadow rollouts on the real control plane: the candidate answers copies of live requests and
the promotion gate judges both models on the same live labeled rows.

As in ``test_promotion_gate.py``: version 1 predicts ``x > 0``, traffic drifts to x ~ N(1, 1)
with labels ``x > 1`` (version 1 is right on about two thirds), ``PerformanceDegraded`` starts a
Job. The Job reports version 3 (``x > 1``: right on every row) or version 4 (its inverse: wrong
on every row, a candidate as bad as one can be). With ``rollout.strategy: shadow`` the operator
runs the candidate as ``model-kubedrift-candidate``, the serving sidecars copy each request to
it, and the labels, posted once to the operator, reach both models' sidecars.
"""

from __future__ import annotations

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
    """The serving IPs once the trial runs: the operator knows the shadow's URL and a
    candidate Pod is ready."""
    trial = (kube.status("watch").get("retraining") or {}).get("trial") or {}
    if not trial.get("shadowUrl") or not candidate_pod_ips(kube):
        return None
    return current_pod_ips(kube, "1")


def answered(ips: list[str]) -> float:
    """Copies the serving sidecars' shadow answered, in all."""
    total = 0.0
    for ip in ips:
        text = scrape(f"http://{ip}:8481/metrics")
        total += metric(text, "kubedrift_shadow_requests_total", outcome="answered")
    return total


def mirroring(ips: list[str]) -> bool | None:
    """One unlabeled probe request; True once the serving sidecars copy requests to the shadow
    (the operator told them at run time: ``PUT /v1/shadow``)."""
    send_requests(ips[:1], shift=1.0, rows=1, seed=9, prefix="probe")
    return answered(ips) > 0 or None


def serving_pods(kube: Any) -> dict[str, int]:
    """uid -> restarts of the serving model's Pods (not the candidate's)."""
    return {
        p["metadata"]["uid"]: sum(
            s.get("restartCount", 0) for s in p["status"].get("containerStatuses") or []
        )
        for p in kube.pods("app=model")
    }


def run_trial(kube: Any, operator: Any, token: str) -> dict[str, Any]:
    """Live traffic during the trial, its labels posted once to the operator (whose fan-out
    reaches both models' sidecars); status.retraining once the trial ended."""
    serving = wait_for("the shadow trial to run", lambda: trial_ready(kube))
    wait_for("the serving sidecars to mirror", lambda: mirroring(serving))
    before = answered(serving)
    labels = send_requests(serving, shift=1.0, rows=120, seed=5, prefix="trial")
    wait_for("the copies to be answered", lambda: answered(serving) >= before + 120 or None)
    endpoint = f"http://127.0.0.1:{operator.port}/v1/feedback/{kube.namespace}/watch"
    items = [item for ip in serving for item in labels[ip]]
    answer = post(endpoint, items, token=token)
    assert answer["sidecars"]["reporting"] == len(serving) + 1  # the candidate's sidecar too
    return wait_for_trial_verdict(kube, "the trial's verdict")


def test_a_good_shadow_is_promoted_on_the_same_live_rows(kube: Any, operator: Any) -> None:
    token = start_gated_scenario(kube, new_version="3", strategy="shadow")

    retraining = run_trial(kube, operator, token)

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
    token = start_gated_scenario(kube, new_version="4", strategy="shadow")
    pods = serving_pods(kube)

    retraining = run_trial(kube, operator, token)

    assert retraining["lastResult"] == "Rejected"
    assert retraining["trial"]["result"] == "Rejected"
    assert "modelVersion" not in retraining
    assert retraining["gate"]["result"] == "NotBetter"
    assert retraining["gate"]["candidateAccuracy"] == 0.0
    [rejected] = kube.events("RetrainingRejected")
    assert "shadow of model version 4 not promoted" in rejected
    assert wait_for("the candidate removed", lambda: candidate_gone(kube))
    # The shadow started and ended at run time: the serving Pods never rolled nor restarted.
    assert serving_pods(kube) == pods
    containers = kube.deployment("model")["spec"]["template"]["spec"]["containers"]
    [model] = [c for c in containers if c["name"] == "model"]
    assert {"name": "MODEL_VERSION", "value": "1"} in model["env"]
