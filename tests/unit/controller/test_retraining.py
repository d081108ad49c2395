"""Retraining decisions and the Job: triggers, cooldown, deterministic names, environment."""

from __future__ import annotations

from typing import Any

import pytest

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.api.status import RetrainingStatus
from kubedrift.controller.retraining import (
    RetrainingTrigger,
    build_retraining_job,
    due_trigger,
    job_outcome,
    next_job_number,
    owned_by,
)
from support.controller_samples import MONITOR, SPEC, make_spec

HOUR = 3600.0
START = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def test_first_active_listed_trigger_is_due(spec: ModelMonitorSpec) -> None:
    assert due_trigger(spec, ["DriftDetected"], None, START) == "DriftDetected"
    assert due_trigger(spec, [], None, START) is None


def test_trigger_not_listed_in_the_spec_starts_nothing() -> None:
    spec = make_spec(
        retraining={"triggers": ["PerformanceDegraded"], "template": SPEC["retraining"]["template"]}
    )

    assert due_trigger(spec, ["DriftDetected"], None, START) is None


def test_monitor_without_retraining_never_retrains() -> None:
    assert due_trigger(make_spec(retraining=None), ["DriftDetected"], None, START) is None


@pytest.mark.parametrize(
    ("result", "started_ago", "due"),
    [
        ("Running", 2 * HOUR, False),  # one Job at a time
        ("Trial", 2 * HOUR, False),  # nor while a shadow of the last candidate runs
        ("Failed", 0.5 * HOUR, False),  # failure waits for the cooldown
        ("Failed", HOUR, True),
        ("Succeeded", 0.99 * HOUR, False),
        ("Succeeded", 1.01 * HOUR, True),
    ],
)
def test_running_job_and_cooldown_hold_back_the_next_job(
    spec: ModelMonitorSpec, result: Any, started_ago: float, due: bool
) -> None:
    status = RetrainingStatus(
        count=1,
        lastJob="fraud-retrain-1",
        lastResult=result,
        lastStartTime="2027-01-15T08:00:00Z",  # type: ignore[typeddict-item]
    )

    got = due_trigger(spec, ["DriftDetected"], status, START + started_ago)
    assert (got is not None) is due


def test_job_number_follows_the_recorded_count() -> None:
    assert next_job_number(None) == 1
    assert next_job_number(RetrainingStatus(count=3)) == 4


def test_job_is_named_owned_labelled_and_told_why(spec: ModelMonitorSpec) -> None:
    trigger = RetrainingTrigger(
        reason="PerformanceDegraded",
        drifted_features=("amount", "country"),
        drift_share=0.5,
        metric="accuracy",
        metric_value=0.61,
        window_start=START,
        window_end=START + 60,
    )
    job = build_retraining_job(
        MONITOR, spec, trigger, number=2, dataset_url="http://op:8080/v1/datasets/ml/fraud",
        model_version="1",
    )  # fmt: skip

    assert job["metadata"]["name"] == "fraud-retrain-2"
    assert job["metadata"]["labels"] == {
        "team": "risk",
        "app.kubernetes.io/managed-by": "kubedrift",
        "kubedrift.io/monitor": "fraud",
        "kubedrift.io/retraining": "2",
    }
    assert job["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    pod = job["spec"]["template"]
    assert pod["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 0
    assert pod["metadata"]["labels"]["kubedrift.io/retraining"] == "2"
    env = pod["spec"]["containers"][0]["env"]
    assert env == [
        {"name": "KUBEDRIFT_MONITOR", "value": "fraud"},
        {"name": "KUBEDRIFT_NAMESPACE", "value": "ml"},
        {"name": "KUBEDRIFT_REASON", "value": "PerformanceDegraded"},
        {"name": "KUBEDRIFT_DRIFTED_FEATURES", "value": "amount,country"},
        {"name": "KUBEDRIFT_DRIFT_SHARE", "value": "0.5"},
        {"name": "KUBEDRIFT_METRIC", "value": "accuracy"},
        {"name": "KUBEDRIFT_METRIC_VALUE", "value": "0.61"},
        {"name": "KUBEDRIFT_WINDOW_START", "value": "2027-01-15T08:00:00Z"},
        {"name": "KUBEDRIFT_WINDOW_END", "value": "2027-01-15T08:01:00Z"},
        {"name": "KUBEDRIFT_MODEL_VERSION", "value": "1"},
        {"name": "KUBEDRIFT_RETRAINING_NUMBER", "value": "2"},
        {"name": "KUBEDRIFT_DATASET_URL", "value": "http://op:8080/v1/datasets/ml/fraud"},
        {
            "name": "KUBEDRIFT_DATASET_TOKEN",
            "valueFrom": {
                "secretKeyRef": {"name": "fraud-kubedrift-token", "key": "dataset-token"}
            },
        },
    ]


def test_building_a_job_leaves_the_spec_template_untouched(spec: ModelMonitorSpec) -> None:
    assert spec.retraining is not None
    before = repr(spec.retraining.template)
    build_retraining_job(
        MONITOR, spec, RetrainingTrigger("DriftDetected"), number=1, dataset_url="http://x"
    )

    assert repr(spec.retraining.template) == before


@pytest.mark.parametrize(
    ("conditions", "outcome"),
    [
        ([], "Running"),
        ([{"type": "Complete", "status": "True"}], "Succeeded"),
        ([{"type": "SuccessCriteriaMet", "status": "True"}], "Succeeded"),
        ([{"type": "Failed", "status": "True"}], "Failed"),
        ([{"type": "Failed", "status": "False"}], "Running"),
    ],
)
def test_job_outcome_follows_its_terminal_condition(
    conditions: list[dict[str, str]], outcome: str
) -> None:
    assert job_outcome({"status": {"conditions": conditions}}) == outcome


def test_only_a_job_controlled_by_this_very_monitor_is_adopted() -> None:
    mine = {"metadata": {"ownerReferences": [{"uid": "uid-1", "controller": True}]}}
    stale = {"metadata": {"ownerReferences": [{"uid": "uid-0", "controller": True}]}}

    assert owned_by(mine, MONITOR)
    assert not owned_by(stale, MONITOR)
    assert not owned_by({"metadata": {}}, MONITOR)
