"""Status from an evaluation: phase precedence, conditions, and never an alarm without data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.api.spec_settings import engine_contract, evaluation_settings
from kubedrift.controller.evaluated_status import (
    Observation,
    evaluated_status,
    invalid_status,
    phase_of,
)
from kubedrift.stats.engine import Tally
from kubedrift.stats.engine.session import Session
from kubedrift.stats.evaluation import evaluate
from support.controller_samples import make_spec, sample_baseline, sample_window

START = 1_800_000_000.0
NOW = datetime(2027, 1, 15, 8, 5, tzinfo=UTC)


def observe(shift: float, rows: int, spec: ModelMonitorSpec) -> Observation:
    baseline = sample_baseline()
    window = sample_window(baseline, shift=shift, rows=rows, seed=7, start=START)
    settings = evaluation_settings(spec)
    evaluation = evaluate(baseline, window, settings)
    session = Session(baseline, settings, engine_contract(spec))
    decision = session.decide({"pod": Tally.of_window(window)}, window, now=START)
    return Observation(evaluation, 2, 2, window.start, window.end, decision)


def conditions(status: Any) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}


def test_healthy_traffic_reads_healthy(spec: ModelMonitorSpec) -> None:
    status = evaluated_status({}, observe(0.0, 400, spec), spec, generation=3, now=NOW)

    assert status["phase"] == "Healthy"
    assert status["observedGeneration"] == 3
    assert conditions(status) == {
        "Ready": ("True", "Monitoring"),
        "DriftDetected": ("False", "NoDrift"),
        "PerformanceDegraded": ("False", "WithinThreshold"),
        "DataQualityDegraded": ("False", "WithinReference"),
    }
    assert status["sidecars"] == {"desired": 2, "reporting": 2}
    assert status["window"] == {
        "samples": 400,
        "labeled": 400,
        "start": "2027-01-15T08:00:00Z",
        "end": "2027-01-15T08:00:20Z",
    }
    assert status["lastEvaluationTime"] == "2027-01-15T08:05:00Z"


def test_drifted_and_degraded_traffic_names_the_feature_and_the_metric(
    spec: ModelMonitorSpec,
) -> None:
    status = evaluated_status({}, observe(3.0, 400, spec), spec, generation=1, now=NOW)

    assert status["phase"] == "Degraded"  # degraded outranks drifting
    assert conditions(status)["DriftDetected"] == ("True", "Drift")
    assert conditions(status)["PerformanceDegraded"] == ("True", "ThresholdCrossed")
    assert [(f["name"], f["drifted"]) for f in status["drift"]["features"]] == [("x", True)]
    assert status["drift"]["share"] == 1.0
    performance = status["performance"]
    assert performance["metric"] == "accuracy"
    assert performance["degraded"] is True
    assert performance["value"] < performance["threshold"]


def test_too_few_samples_is_nodata_never_an_alarm(spec: ModelMonitorSpec) -> None:
    status = evaluated_status({}, observe(3.0, 30, spec), spec, generation=1, now=NOW)

    assert status["phase"] == "NoData"
    assert conditions(status)["DriftDetected"] == ("Unknown", "NotEnoughData")
    assert conditions(status)["PerformanceDegraded"] == ("Unknown", "NotEnoughLabels")
    assert "drift" not in status


def test_no_sidecar_reporting_is_nodata(spec: ModelMonitorSpec) -> None:
    status = evaluated_status({}, Observation(None, 3, 0), spec, generation=1, now=NOW)

    assert status["phase"] == "NoData"
    assert conditions(status)["DriftDetected"] == ("Unknown", "NoSidecarReporting")
    assert conditions(status)["Ready"] == ("True", "Monitoring")


@pytest.mark.parametrize(
    ("shift", "running", "phase"),
    [(3.0, True, "Retraining"), (0.0, True, "Retraining"), (3.0, False, "Degraded")],
)
def test_a_running_retraining_outranks_the_verdict(
    spec: ModelMonitorSpec, shift: float, running: bool, phase: str
) -> None:
    assert phase_of(observe(shift, 400, spec), running) == phase


def test_last_known_alarm_status_survives_a_stretch_of_unknown(spec: ModelMonitorSpec) -> None:
    drifted = evaluated_status({}, observe(3.0, 400, spec), spec, generation=1, now=NOW)
    assert drifted["lastKnown"] == {
        "driftDetected": "True",
        "performanceDegraded": "True",
        "dataQualityDegraded": "True",  # a 3-sigma shift: a third of x beyond its training range
    }

    fresh = evaluated_status(drifted, observe(0.0, 30, spec), spec, generation=1, now=NOW)
    assert conditions(fresh)["DriftDetected"][0] == "Unknown"
    assert fresh["lastKnown"] == drifted["lastKnown"]

    recovered = evaluated_status(fresh, observe(0.0, 400, spec), spec, generation=1, now=NOW)
    assert recovered["lastKnown"] == {
        "driftDetected": "False",
        "performanceDegraded": "False",
        "dataQualityDegraded": "False",
    }


def test_no_last_known_status_before_the_first_verdict(spec: ModelMonitorSpec) -> None:
    status = evaluated_status({}, observe(0.0, 30, spec), spec, generation=1, now=NOW)

    assert "lastKnown" not in status


def test_retraining_and_baseline_survive_an_evaluation(spec: ModelMonitorSpec) -> None:
    previous = {
        "retraining": {"count": 1, "lastResult": "Running"},
        "baseline": {"configMap": "b", "hash": "h"},
    }

    status = evaluated_status(previous, observe(0.0, 400, spec), spec, generation=1, now=NOW)

    assert status["retraining"] == previous["retraining"]
    assert status["baseline"] == previous["baseline"]
    assert status["phase"] == "Retraining"


def test_condition_keeps_its_transition_time_while_unchanged(spec: ModelMonitorSpec) -> None:
    first = evaluated_status({}, observe(3.0, 400, spec), spec, generation=1, now=NOW)
    later = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
    second = evaluated_status(first, observe(3.0, 400, spec), spec, generation=1, now=later)

    times = {c["type"]: c["lastTransitionTime"] for c in second["conditions"]}
    assert times["DriftDetected"] == "2027-01-15T08:05:00Z"


def test_monitor_without_performance_has_no_performance_condition() -> None:
    spec = make_spec(performance=None, retraining=None)

    status = evaluated_status({}, observe(0.0, 400, spec), spec, generation=1, now=NOW)

    assert "PerformanceDegraded" not in conditions(status)


def test_invalid_status_sets_ready_false_with_the_reason() -> None:
    status = invalid_status(
        {}, "DeploymentNotFound", "Deployment x not found", generation=2, now=NOW
    )

    assert status == {
        "observedGeneration": 2,
        "phase": "Invalid",
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": "DeploymentNotFound",
                "message": "Deployment x not found",
                "lastTransitionTime": "2027-01-15T08:05:00Z",
                "observedGeneration": 2,
            }
        ],
    }


def test_shares_metric_values_and_bounds_are_kept_to_four_decimals_for_kubectl(
    spec: ModelMonitorSpec,
) -> None:
    observation = observe(3.0, 401, spec)
    status = evaluated_status({}, observation, spec, generation=1, now=NOW)

    performance = observation.evaluation.performance if observation.evaluation else None
    assert performance is not None and performance.value is not None
    assert status["performance"]["value"] == round(performance.value, 4)
    assert status["performance"]["lowerBound"] == round(performance.lower_bound or 0.0, 4)
    for key in ("value", "lowerBound", "upperBound"):
        if key in status["performance"]:
            assert status["performance"][key] == round(status["performance"][key], 4)
