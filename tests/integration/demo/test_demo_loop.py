"""``make demo``'s scenario end to end on the real control plane, asserted with numbers.

Shift scenario: traffic A (3 windows), B (covariate shift and a new rule, 3 windows), C (a
second shift, 3 windows); a window is ``DemoSettings.window_samples`` rows with their labels.
The documented detection bound is one window: the first evaluation after one window of shifted
traffic raises both alerts. The no-shift scenario sends A for the same number of windows.
"""

from __future__ import annotations

import math
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from kubedrift_dev.demo.cluster_client import DemoCluster
from kubedrift_dev.demo.loop import REQUEST_ROWS, SHIFT_PLAN, STEADY_PLAN, LoopRunner
from kubedrift_dev.demo.manifests import MONITOR, DemoSettings
from kubedrift_dev.demo.outcome import Outcome, Row

RETRAIN_1, RETRAIN_2 = f"{MONITOR}-retrain-1", f"{MONITOR}-retrain-2"


def run(
    demo: DemoCluster,
    settings: DemoSettings,
    labels_url: str,
    plan: tuple[tuple[str, int], ...],
    rows: list[Row] | None = None,
) -> Outcome:
    """Run the demo's loop; ``rows`` collects the table it prints."""
    table: list[Row] = [] if rows is None else rows
    return LoopRunner(demo, settings, emit=table.append, labels_url=labels_url).run(plan)


def reasons(demo: DemoCluster) -> list[str]:
    return [reason for reason, _, _ in demo.events()]


def labels_joined(labels_url: str) -> float:
    """``kubedrift_operator_labels_total{outcome="joined"}`` of the demo's monitor."""
    operator_url, _, path = labels_url.partition("/v1/feedback/")
    namespace, monitor = path.split("/")
    with urllib.request.urlopen(f"{operator_url}/metrics", timeout=10) as answer:
        page = answer.read().decode()
    wanted = {"namespace": namespace, "monitor": monitor, "outcome": "joined"}
    return sum(
        sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name == "kubedrift_operator_labels_total" and sample.labels == wanted
    )


def test_each_shift_is_detected_retrained_on_and_rolled_out_and_monitoring_goes_on(
    demo: DemoCluster, settings: DemoSettings, labels_url: str
) -> None:
    table: list[Row] = []
    outcome = run(demo, settings, labels_url, SHIFT_PLAN, table)
    points = {world: [p for p in outcome.points if p.world == world] for world in "ABC"}

    # Phase A: the model trained on A is accurate and the operator agrees; nothing is raised.
    assert outcome.accuracy("A") >= 0.9
    assert all(p.operator_accuracy is not None and p.operator_accuracy >= 0.9 for p in points["A"])
    assert [(p.phase, p.drift, p.degraded) for p in points["A"]] == [
        ("Healthy", "False", "False")
    ] * 3

    for world, job, version in (("B", RETRAIN_1, "2"), ("C", RETRAIN_2, "3")):
        # Both alerts within one window of shifted traffic.
        assert set(outcome.detections[world]) == {"DriftDetected", "PerformanceDegraded"}
        assert max(outcome.detections[world].values()) <= settings.window_samples
        # Exactly one retraining Job for this shift, and it produced the next model version.
        started = [
            name
            for name, (sent, _) in outcome.jobs.items()
            if outcome.shifts[world] < sent <= outcome.shifts[world] + 3 * settings.window_samples
        ]
        assert started == [job]
        assert outcome.jobs[job][1] == version
        # The old model was wrong on the shifted data; the rolled-out one is right on fresh
        # traffic of the same world, and the operator measures the same.
        assert outcome.accuracy(world, after_rollout=False) < 0.7
        after = [p for p in points[world] if p.version == version]
        assert len(after) == 2
        assert outcome.accuracy(world, after_rollout=True) > settings.accuracy_threshold
        assert all(
            p.operator_accuracy is not None and p.operator_accuracy > settings.accuracy_threshold
            for p in after
        )
        # Healthy again against the adopted baseline.
        assert [(p.phase, p.drift, p.degraded) for p in after] == [
            ("Healthy", "False", "False")
        ] * 2

    assert demo.jobs() == [RETRAIN_1, RETRAIN_2]
    assert demo.deployed_version() == "3"
    final = outcome.final_status
    assert final["phase"] == "Healthy"
    assert final["retraining"]["count"] == 2
    assert final["retraining"]["modelVersion"] == "3"
    assert final["baseline"]["configMap"] == f"{MONITOR}-kubedrift-baseline"
    # Each candidate passed the promotion gate on held-out rows, and the table says so.
    assert final["retraining"]["gate"]["result"] == "Promoted"
    assert [(e["version"], e["state"], e["gate"]["result"] if "gate" in e else None)
            for e in final["retraining"]["history"]] == [
        ("3", "Serving", "Promoted"), ("2", "Replaced", "Promoted"), ("1", "Replaced", None),
    ]  # fmt: skip
    gate_rows = [r for r in table if r.action.startswith("promotion gate:")]
    assert [(r.action.split(" (p=")[0], r.next) for r in gate_rows] == [
        ("promotion gate: Promoted", "roll out model v2"),
        ("promotion gate: Promoted", "roll out model v3"),
    ]
    assert all(r.data.endswith("held-out rows (latest)") for r in gate_rows)
    events = reasons(demo)
    for reason in ("RetrainingStarted", "RetrainingSucceeded", "DriftDetected", "DriftResolved"):
        assert events.count(reason) == 2, reason
    assert "RetrainingFailed" not in events
    # Every request's labels went through the operator's endpoint and joined there, once.
    requests_per_step = math.ceil((settings.window_samples - 1) / REQUEST_ROWS) + 1
    assert labels_joined(labels_url) == len(outcome.points) * requests_per_step


def test_traffic_that_never_shifts_raises_no_alert_and_starts_no_job(
    demo: DemoCluster, settings: DemoSettings, labels_url: str
) -> None:
    outcome = run(demo, settings, labels_url, STEADY_PLAN)

    assert len(outcome.points) == sum(steps for _, steps in SHIFT_PLAN) == 9
    assert [(p.phase, p.drift, p.degraded) for p in outcome.points] == [
        ("Healthy", "False", "False")
    ] * 9
    assert outcome.accuracy("A") >= 0.9
    assert outcome.markers == []
    assert outcome.jobs == {}
    assert demo.jobs() == []
    events = reasons(demo)
    for reason in ("DriftDetected", "PerformanceDegraded", "RetrainingStarted"):
        assert reason not in events
    assert demo.deployed_version() == "1"
