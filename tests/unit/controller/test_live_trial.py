"""Live trials (shadow and canary): the candidate's workload and the rows each model is judged
on."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kubedrift.api.spec import PromotionSpec
from kubedrift.controller.live_trial import (
    answered_by,
    build_candidate_deployment,
    build_candidate_service,
    canary_counts,
    engine_objection,
    judge_trial,
    labeled_path,
    labeled_since,
    paired_scores,
    shadow_url,
)
from kubedrift.controller.names import MODEL_ROLE_LABEL
from kubedrift.controller.observation import is_candidate_pod
from kubedrift.controller.promotion import judge
from kubedrift.stats.baseline import build_baseline
from kubedrift.stats.engine.contract import Contract
from kubedrift.stats.engine.engine import Decision, Engine
from kubedrift.stats.engine.tally import Tally
from kubedrift.stats.settings import EvaluationSettings
from kubedrift.stats.window import Window

OWNER = {"apiVersion": "kubedrift.io/v1alpha1", "kind": "ModelMonitor", "name": "m", "uid": "u"}
MONITOR_LABELS = {"kubedrift.io/monitor": "m"}


def serving_deployment() -> dict[str, Any]:
    return {
        "metadata": {"name": "fraud", "namespace": "ml", "uid": "d-1"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "fraud"}},
            "template": {
                "metadata": {"labels": {"app": "fraud"}},
                "spec": {
                    "containers": [
                        {"name": "model", "env": [{"name": "MODEL_VERSION", "value": "1"}]},
                        {"name": "kubedrift-sidecar"},
                    ]
                },
            },
        },
        "status": {"readyReplicas": 3},
    }


def candidate(strategy: str) -> dict[str, Any]:
    return build_candidate_deployment(
        serving_deployment(),
        container="model",
        version_env="MODEL_VERSION",
        version="2",
        strategy=strategy,
        replicas=1,
        monitor_labels=MONITOR_LABELS,
        owner=OWNER,
    )


def test_a_shadow_runs_the_candidate_version_where_no_serving_service_selects_it() -> None:
    shadow = candidate("shadow")

    labels = shadow["spec"]["template"]["metadata"]["labels"]
    assert shadow["metadata"]["name"] == "fraud-kubedrift-candidate"
    assert "app" not in labels  # the serving Service selects app=fraud
    assert labels[MODEL_ROLE_LABEL] == "candidate"
    assert shadow["spec"]["selector"]["matchLabels"] == labels
    assert shadow["spec"]["replicas"] == 1
    model, sidecar = shadow["spec"]["template"]["spec"]["containers"]
    assert model["env"] == [{"name": "MODEL_VERSION", "value": "2"}]
    # the sidecar records the candidate's answers, labeled with its version
    assert sidecar == {
        "name": "kubedrift-sidecar",
        "env": [{"name": "KUBEDRIFT_MODEL_VERSION", "value": "2"}],
    }
    assert shadow["metadata"]["ownerReferences"] == [OWNER]
    assert "status" not in shadow


def test_a_canary_keeps_the_serving_labels_so_the_service_sends_it_a_share() -> None:
    canary = candidate("canary")

    labels = canary["spec"]["template"]["metadata"]["labels"]
    assert labels["app"] == "fraud"
    assert canary["spec"]["selector"]["matchLabels"] == {
        "app": "fraud",
        MODEL_ROLE_LABEL: "candidate",
    }
    assert is_candidate_pod({"metadata": {"labels": labels}})
    assert not is_candidate_pod({"metadata": {"labels": {"app": "fraud"}}})


def test_the_serving_deployment_is_not_changed() -> None:
    serving = serving_deployment()

    build_candidate_deployment(
        serving, container="model", version_env="MODEL_VERSION", version="2",
        strategy="canary", replicas=1, monitor_labels=MONITOR_LABELS, owner=OWNER,
    )  # fmt: skip

    assert serving == serving_deployment()


def test_an_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="shadow or canary"):
        candidate("restart")


def test_the_shadow_service_selects_the_candidate_pods_on_the_sidecar_port() -> None:
    shadow = candidate("shadow")

    service = build_candidate_service(shadow, 9000, OWNER)

    assert service["metadata"]["name"] == "fraud-kubedrift-candidate"
    assert service["spec"]["selector"] == shadow["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"] == [{"name": "http", "port": 9000, "targetPort": 9000}]
    assert shadow_url("fraud", "ml", 9000) == "http://fraud-kubedrift-candidate.ml.svc:9000"


def row(x: float, prediction: int, label: int) -> dict[str, Any]:
    return {"features": {"x": x}, "prediction": prediction, "label": label, "time": 1.0}


def test_rows_pair_by_features_and_label_and_unpaired_rows_are_left_out() -> None:
    serving = [row(1, 0, 1), row(2, 1, 1), row(4, 1, 0)]  # x=4 was not mirrored
    shadow = [row(3, 0, 0), row(2, 0, 1), row(1, 1, 1)]  # x=3 was labeled on the shadow only

    scores = paired_scores(serving, shadow)

    assert scores.serving == (False, True)
    assert scores.candidate == (True, False)


def test_equal_inputs_pair_one_to_one() -> None:
    serving = [row(1, 1, 1), row(1, 1, 1), row(1, 1, 1)]
    shadow = [row(1, 0, 1), row(1, 0, 1)]

    assert paired_scores(serving, shadow).candidate == (False, False)


def test_a_shadow_trained_on_shuffled_labels_is_not_promoted_a_good_one_is() -> None:
    # 200 mirrored rows; serving right on 160. A good shadow is right on every row, a bad
    # one (shuffled labels: a coin) on every other.
    serving = [row(i, 1 if i % 5 else 0, 1) for i in range(200)]
    good = [row(i, 1, 1) for i in range(200)]
    bad = [row(i, i % 2, 1) for i in range(200)]
    gate = PromotionSpec(min_held_out=100)

    assert judge(gate, paired_scores(serving, good)).promote
    rejected = judge(gate, paired_scores(serving, bad))
    assert (rejected.promote, rejected.reason) == (False, "NotBetter")


def test_canary_counts_are_correct_and_labeled_rows() -> None:
    rows = [row(1, 1, 1), row(2, 0, 1), {"features": {"x": 3}, "prediction": 1}]

    assert canary_counts(rows) == (1, 2)


GATE = PromotionSpec(min_held_out=100)


def test_a_shadow_trial_waits_for_min_held_out_paired_rows_then_decides() -> None:
    serving = [row(i, 1 if i % 5 else 0, 1) for i in range(200)]
    good = [row(i, 1, 1) for i in range(200)]
    bad = [row(i, i % 2, 1) for i in range(200)]

    waiting = judge_trial("shadow", GATE, serving, good[:99], max_rows=1000)
    promoted = judge_trial("shadow", GATE, serving, good, max_rows=1000)
    rejected = judge_trial("shadow", GATE, serving, bad, max_rows=1000)

    assert (waiting.verdict, waiting.reason) == ("Wait", "NotEnoughLabels")
    assert (promoted.verdict, promoted.reason) == ("Promote", "Better")
    assert (rejected.verdict, rejected.reason) == ("Reject", "NotBetter")
    assert "99 held-out labeled rows" in waiting.message


def test_a_canary_with_a_bad_candidate_is_rejected_and_a_good_one_promoted() -> None:
    serving = [row(i, 1 if i % 5 else 0, 1) for i in range(500)]  # right on 0.8
    bad = [row(i, i % 2, 1) for i in range(500)]  # right on 0.5: shuffled labels
    good = [row(i, 1 if i % 20 else 0, 1) for i in range(500)]  # right on 0.95

    rejected = judge_trial("canary", GATE, serving, bad, max_rows=2000)
    promoted = judge_trial("canary", GATE, serving, good, max_rows=2000)
    waiting = judge_trial("canary", GATE, serving, bad[:50], max_rows=2000)

    assert (rejected.verdict, rejected.reason) == ("Reject", "Worse")
    assert (promoted.verdict, promoted.reason) == ("Promote", "Better")
    assert (waiting.verdict, waiting.reason) == ("Wait", "NotEnoughLabels")
    assert "candidate accuracy 0.5000 on 500 labeled rows vs serving 0.8000" in rejected.message


def test_a_canary_verdict_is_recorded_with_each_models_rows_and_the_test_that_decided() -> None:
    serving = [row(i, 1 if i % 5 else 0, 1) for i in range(500)]  # right on 0.8
    bad = [row(i, i % 2, 1) for i in range(400)]  # right on 0.5

    gate = judge_trial("canary", GATE, serving, bad, max_rows=2000).gate

    assert (gate["result"], gate["test"]) == ("Worse", "mixture-likelihood-ratio")
    assert (gate["servingRows"], gate["candidateRows"], gate["heldOut"]) == (500, 400, 900)
    assert (gate["servingAccuracy"], gate["candidateAccuracy"]) == (0.8, 0.5)
    assert gate["pValue"] <= 0.05  # the p-value of "worse", the test that decided
    assert (gate["candidateOnly"], gate["servingOnly"]) == (0, 0)  # no pairs in a canary


def test_a_canary_that_spends_its_row_budget_unshown_is_not_better() -> None:
    serving = [row(i, 1 if i % 5 else 0, 1) for i in range(200)]  # right on 0.8
    same = [row(i, 1 if i % 5 else 0, 1) for i in range(200)]  # right on 0.8 too

    decision = judge_trial("canary", GATE, serving, same, max_rows=200)

    assert (decision.verdict, decision.gate["result"]) == ("Reject", "NotBetter")


def test_rows_labeled_before_the_trial_and_rows_of_another_version_are_left_out() -> None:
    rows: list[dict[str, Any]] = [
        {"label": 1, "time": 5.0},
        {"label": 1, "time": 9.0, "modelVersion": "2"},
    ]

    assert labeled_since(rows, 6.0) == [rows[1]]
    assert answered_by(rows, "3") == [rows[0]]


def candidate_engine(predict: str, steps: int = 6) -> Decision:
    """The monitor's engine over a candidate's window: ``steps`` rounds of 30 rows, 30 s apart,
    of x ~ N(0, 1) against a baseline of x ~ N(0, 1) with prediction ``x > 0``. ``predict``:
    ``sign`` (as in the baseline), ``ones`` (always 1: its predictions drift) or ``holes``
    (as in the baseline, but every other x missing: data quality)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=3000)
    y = (x > 0).astype(np.int64)
    baseline = build_baseline({"x": x, "pred": y, "label": y}, prediction="pred", label="label")
    engine = Engine(baseline, EvaluationSettings(), Contract(30 * 86400.0, 30.0))
    window = Window(baseline, start=0.0)
    decision = None
    for step in range(steps):
        xs = rng.normal(size=30)
        predictions = np.ones(30, np.int64) if predict == "ones" else (xs > 0).astype(np.int64)
        if predict == "holes":
            xs[::2] = np.nan
        increment = Window(baseline, start=0.0)
        increment.update({"x": xs}, predictions)
        window.update({"x": xs}, predictions)
        decision = engine.step(Tally.of_window(increment), window, now=30.0 * step)
    assert decision is not None
    return decision


def test_the_engine_objects_to_a_candidate_whose_predictions_or_data_quality_alarm() -> None:
    drifted = engine_objection(candidate_engine("ones"))
    holes = engine_objection(candidate_engine("holes"))

    assert engine_objection(candidate_engine("sign")) is None
    assert engine_objection(None) is None
    assert drifted is not None
    assert drifted[0] == "CandidatePredictionDrift"
    assert "predictions drifted" in drifted[1]
    assert holes is not None
    assert holes[0] == "CandidateDataQuality"
    assert "MissingValues: x: missing values in 50.0%" in holes[1]


def test_a_canary_that_would_win_is_rolled_back_when_its_engine_alarms() -> None:
    serving = [row(i, 1 if i % 5 else 0, 1) for i in range(500)]  # right on 0.8
    good = [row(i, 1 if i % 20 else 0, 1) for i in range(500)]  # right on 0.95

    quiet = judge_trial(
        "canary", GATE, serving, good, max_rows=2000, engine=candidate_engine("sign")
    )
    alarmed = judge_trial(
        "canary", GATE, serving, good, max_rows=2000, engine=candidate_engine("ones")
    )

    assert (quiet.verdict, quiet.gate["result"]) == ("Promote", "Promoted")
    assert (alarmed.verdict, alarmed.reason) == ("Reject", "CandidatePredictionDrift")
    assert alarmed.gate["result"] == "Alarmed"
    assert alarmed.gate["candidateAccuracy"] == 0.95  # the comparison's numbers are kept
    assert alarmed.message.startswith("the candidate's predictions drifted from its baseline")


def test_a_candidate_shown_worse_keeps_that_reason_even_when_its_engine_alarms() -> None:
    serving = [row(i, 1 if i % 5 else 0, 1) for i in range(500)]  # right on 0.8
    bad = [row(i, i % 2, 1) for i in range(500)]  # right on 0.5

    decision = judge_trial(
        "canary", GATE, serving, bad, max_rows=2000, engine=candidate_engine("ones")
    )

    assert (decision.verdict, decision.reason, decision.gate["result"]) == (
        "Reject",
        "Worse",
        "Worse",
    )


def test_a_shadow_still_collecting_is_rejected_at_once_when_its_engine_alarms() -> None:
    serving = [row(i, 1, 1) for i in range(20)]

    decision = judge_trial(
        "shadow", GATE, serving, serving, max_rows=2000, engine=candidate_engine("holes")
    )

    assert (decision.verdict, decision.reason) == ("Reject", "CandidateDataQuality")
    assert decision.gate["result"] == "Alarmed"


def test_a_trial_on_a_shared_sidecar_reads_its_own_models_labeled_rows() -> None:
    # One sidecar serves several models' monitors (spec.target.model): the trial asks for its
    # model's rows; an unshared sidecar is asked as before.
    assert labeled_path("fraud") == "/v1/labeled?model=fraud"
    assert labeled_path("a b&c") == "/v1/labeled?model=a+b%26c"
    assert labeled_path(None) == "/v1/labeled"
