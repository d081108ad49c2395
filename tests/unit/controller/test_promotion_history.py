"""The promotion gate's status, the model history and the rollback rule
(kubedrift.controller.promotion)."""

from __future__ import annotations

from typing import Any

from kubedrift.api.spec import ModelMonitorSpec, PromotionSpec
from kubedrift.api.status import ModelVersionStatus, Timestamp
from kubedrift.controller.promotion import (
    HISTORY_LIMIT,
    gate_status,
    judge,
    rollback_due,
    serving_entry,
    trim,
    with_live_metric,
    with_promoted,
    with_rejected,
    with_rolled_back,
)
from kubedrift.controller.rollout import HeldOutScores
from kubedrift.controller.timestamps import from_timestamp
from support.controller_samples import SPEC, make_spec

PROMOTED_AT = Timestamp("2026-12-07T12:00:00Z")
PROMOTED = from_timestamp(PROMOTED_AT)


def promotion_of(spec: ModelMonitorSpec) -> PromotionSpec:
    assert spec.retraining is not None and spec.retraining.promotion is not None
    return spec.retraining.promotion


def gated_spec(metric: str = "accuracy", **promotion: Any) -> ModelMonitorSpec:
    retraining = {
        "triggers": ["PerformanceDegraded"],
        "template": SPEC["retraining"]["template"],
        "promotion": {"minHeldOut": 10, "watchPeriod": "1h", **promotion},
    }
    threshold = 0.9 if metric != "mae" else 1.0
    return make_spec(
        retraining=retraining,
        performance={"metric": metric, "threshold": threshold, "minLabeledSamples": 100},
    )


def scores(serving: str, candidate: str) -> HeldOutScores:
    return HeldOutScores(tuple(c == "1" for c in serving), tuple(c == "1" for c in candidate))


def promoted_history(level: float | None = 0.7) -> list[ModelVersionStatus]:
    first = serving_entry("1", ("model-baseline", "baseline.json", "abc"))
    return with_promoted(
        [first],
        version="2",
        job="m-retrain-1",
        gate=None,
        baseline=("model-baseline-v2", "baseline.json", "def"),
        level=level,
        now=PROMOTED_AT,
    )


def test_the_gate_reads_its_settings_from_the_spec_and_reports_every_number() -> None:
    spec = gated_spec(margin=0.0, confidence=0.95)
    assert spec.retraining is not None and spec.retraining.promotion is not None
    decision = judge(spec.retraining.promotion, scores("0" * 10 + "1" * 5, "1" * 15))
    assert gate_status(decision) == {
        "result": "Promoted",
        "heldOut": 15,
        "servingAccuracy": 5 / 15,
        "candidateAccuracy": 1.0,
        "candidateOnly": 10,
        "servingOnly": 0,
        "margin": 0.0,
        "confidence": 0.95,
        "test": "exact-mcnemar",
        "pValue": 2.0**-10,
    }


def test_too_few_held_out_rows_are_recorded_as_such() -> None:
    spec = gated_spec()
    assert spec.retraining is not None and spec.retraining.promotion is not None
    gate = gate_status(judge(spec.retraining.promotion, scores("0" * 9, "1" * 9)))
    assert (gate["result"], gate["heldOut"], "pValue" in gate) == (
        "NotEnoughHeldOutLabels",
        9,
        False,
    )


def test_a_promotion_replaces_the_serving_entry_and_holds_its_predecessors_level() -> None:
    history = promoted_history()
    assert [(e["version"], e["state"]) for e in history] == [("2", "Serving"), ("1", "Replaced")]
    assert history[0]["levelToHold"] == 0.7
    assert history[0]["promotedAt"] == PROMOTED_AT
    assert history[0]["baseline"] == {
        "configMap": "model-baseline-v2",
        "key": "baseline.json",
        "hash": "def",
    }


def test_a_rejected_candidate_is_recorded_and_the_serving_model_stays() -> None:
    gate = gate_status(judge(promotion_of(gated_spec()), scores("1" * 20, "0" * 20)))
    history = with_rejected(promoted_history(), version="3", job="m-retrain-2", gate=gate)
    assert [(e["version"], e["state"]) for e in history] == [
        ("3", "Rejected"),
        ("2", "Serving"),
        ("1", "Replaced"),
    ]
    assert history[0]["gate"]["result"] == "NotBetter"


def test_history_keeps_five_but_never_drops_the_serving_model_or_its_rollback_target() -> None:
    history = promoted_history()
    gate = gate_status(judge(promotion_of(gated_spec()), scores("1" * 20, "0" * 20)))
    for number in range(3, 10):
        history = with_rejected(history, version=str(number), job=f"j{number}", gate=gate)
    assert len(history) == HISTORY_LIMIT
    assert [e["version"] for e in history] == ["9", "8", "7", "2", "1"]
    assert trim(history) == history


def test_live_metric_is_recorded_on_the_serving_entry_only() -> None:
    history = with_live_metric(promoted_history(), 0.93)
    assert [e.get("metricValue") for e in history] == [0.93, None]
    assert with_live_metric(history, None) == history


def performance(low: float, high: float, samples: int = 200) -> dict[str, Any]:
    return {"value": (low + high) / 2, "lowerBound": low, "upperBound": high, "samples": samples}


def test_a_model_confidently_below_its_predecessors_level_is_rolled_back() -> None:
    history = promoted_history(level=0.7)
    due = rollback_due(gated_spec(), history, performance(0.5, 0.6), PROMOTED + 60)
    assert due is not None
    serving, target = due
    assert (serving["version"], target["version"]) == ("2", "1")
    back = with_rolled_back(history)
    assert [(e["version"], e["state"]) for e in back] == [("2", "RolledBack"), ("1", "Serving")]
    assert "levelToHold" not in back[1]


def test_no_rollback_while_the_interval_reaches_the_level_or_labels_are_few() -> None:
    history = promoted_history(level=0.7)
    spec = gated_spec()
    assert rollback_due(spec, history, performance(0.6, 0.71), PROMOTED + 60) is None
    assert rollback_due(spec, history, performance(0.5, 0.6, samples=99), PROMOTED + 60) is None
    assert rollback_due(spec, history, None, PROMOTED + 60) is None


def test_no_rollback_after_the_watch_period() -> None:
    history = promoted_history(level=0.7)
    spec = gated_spec()
    assert rollback_due(spec, history, performance(0.5, 0.6), PROMOTED + 3600) is not None
    assert rollback_due(spec, history, performance(0.5, 0.6), PROMOTED + 3601) is None


def test_for_errors_the_lower_bound_above_the_level_rolls_back() -> None:
    history = promoted_history(level=0.3)
    spec = gated_spec(metric="mae")
    assert rollback_due(spec, history, performance(0.35, 0.5), PROMOTED + 60) is not None
    assert rollback_due(spec, history, performance(0.25, 0.5), PROMOTED + 60) is None


def test_without_a_known_level_or_predecessor_baseline_nothing_is_watched() -> None:
    spec = gated_spec()
    assert rollback_due(spec, promoted_history(level=None), performance(0.1, 0.2), PROMOTED) is None
    no_baseline = with_promoted(
        [serving_entry("1", None)],
        version="2",
        job="j",
        gate=None,
        baseline=None,
        level=0.7,
        now=PROMOTED_AT,
    )
    assert "levelToHold" not in no_baseline[0]
    assert rollback_due(spec, no_baseline, performance(0.1, 0.2), PROMOTED) is None
