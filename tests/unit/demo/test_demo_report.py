"""The demo's accounting and report: accuracy before and after a rollout, the summary lines,
the table layout and the ``kubectl describe`` sections it quotes."""

from __future__ import annotations

from kubedrift_dev.demo.demo_run import _section
from kubedrift_dev.demo.outcome import Marker, Outcome, Point, Row
from kubedrift_dev.demo.report import TablePrinter, summary


def point(step: int, world: str, accuracy: float, version: str) -> Point:
    return Point(
        step,
        world,
        step * 200,
        float(step),
        accuracy,
        accuracy,
        0.0,
        "False",
        "False",
        "Healthy",
        version,
    )


def outcome() -> Outcome:
    found = Outcome(
        points=[
            point(1, "A", 0.98, "1"),
            point(2, "B", 0.4, "1"),
            point(3, "B", 0.9, "2"),
            point(4, "B", 1.0, "2"),
        ],
        markers=[
            Marker("alert", 400, 2.0, "DriftDetected"),
            Marker("retraining", 400, 2.0, "job"),
            Marker("rollout", 400, 2.5, "v2"),
        ],
        shifts={"A": 0, "B": 200},
        detections={"B": {"DriftDetected": 200, "PerformanceDegraded": 200}},
        jobs={"m-retrain-1": (400, "2")},
        final_status={"phase": "Healthy", "retraining": {"modelVersion": "2"}},
    )
    return found


def test_accuracy_splits_a_world_at_the_rollout_of_its_retrained_model() -> None:
    found = outcome()
    assert found.accuracy("A") == 0.98
    assert found.accuracy("B", after_rollout=False) == 0.4
    assert found.accuracy("B", after_rollout=True) == 0.95
    assert found.accuracy("B") == (0.4 + 0.9 + 1.0) / 3


def test_summary_reports_detection_delay_accuracy_and_jobs() -> None:
    assert summary(outcome(), 0.85) == [
        "accuracy on A (before any shift): 0.980",
        "shift to B: detected DriftDetected after 200 rows, PerformanceDegraded after 200 rows",
        "  accuracy during (old model): 0.400; after the rollout: 0.950 (threshold 0.85)",
        "retraining Jobs: m-retrain-1 -> model v2",
        "final phase: Healthy, model version 2",
    ]


def test_the_table_prints_its_header_once_and_pads_columns() -> None:
    lines: list[str] = []
    printer = TablePrinter(lines.append)
    printer(Row("1", "serve", "A", "yes", "0.99", "keep monitoring"))
    printer(Row("2", "serve", "B", "NO", "0.40", "retrain"))
    assert len(lines) == 4
    assert lines[0].startswith("step action")
    assert lines[2].index("keep monitoring") == lines[0].index("next step")


def test_a_describe_section_stops_at_the_next_block_of_its_level() -> None:
    described = [
        "Status:",
        "  Conditions:",
        "    Type: Ready",
        "    Status: True",
        "  Phase: Healthy",
        "Events:",
        "  Type  Reason",
        "  ----  ------",
    ]
    assert _section(described, "  Conditions:") == [
        "  Conditions:",
        "    Type: Ready",
        "    Status: True",
    ]
    assert _section(described, "Events:") == ["Events:", "  Type  Reason", "  ----  ------"]
    assert _section(described, "Spec:") == []


def test_a_describe_section_without_entries_is_its_none_line() -> None:
    assert _section(["Spec:", "  Alerts:", "    Events:  true", "Events:  <none>"], "Events:") == [
        "Events:  <none>"
    ]
