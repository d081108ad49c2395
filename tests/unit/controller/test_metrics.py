"""Operator metrics, read back through the registry's public API."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from kubedrift.controller.metrics import make_metrics


def test_evaluation_updates_counters_and_per_monitor_gauges() -> None:
    registry = CollectorRegistry()
    metrics = make_metrics(registry)

    metrics.record_evaluation(
        "ml", "fraud", result="drift", seconds=0.2, desired=3, reporting=2,
        drift_share=0.5, metric="accuracy", metric_value=0.7,
    )  # fmt: skip

    value = registry.get_sample_value
    assert value("kubedrift_operator_evaluations_total", {"result": "drift"}) == 1
    assert value("kubedrift_operator_evaluations_total", {"result": "ok"}) == 0
    assert value("kubedrift_operator_evaluation_duration_seconds_count") == 1
    assert value("kubedrift_monitor_drift_share", {"namespace": "ml", "monitor": "fraud"}) == 0.5
    assert (
        value("kubedrift_monitor_metric_value",
              {"namespace": "ml", "monitor": "fraud", "metric": "accuracy"}) == 0.7
    )  # fmt: skip
    assert value("kubedrift_monitor_sidecars",
                 {"namespace": "ml", "monitor": "fraud", "state": "reporting"}) == 2  # fmt: skip


def test_retrainings_are_counted_by_result() -> None:
    registry = CollectorRegistry()
    metrics = make_metrics(registry)

    metrics.record_retraining("started")
    metrics.record_retraining("failed")

    assert registry.get_sample_value("kubedrift_operator_retrainings_total",
                                     {"result": "started"}) == 1  # fmt: skip
    assert registry.get_sample_value("kubedrift_operator_retrainings_total",
                                     {"result": "succeeded"}) == 0  # fmt: skip


def test_forgetting_a_monitor_drops_only_its_series() -> None:
    registry = CollectorRegistry()
    metrics = make_metrics(registry)
    for name in ("fraud", "churn"):
        metrics.record_evaluation("ml", name, result="ok", seconds=0.1, desired=1, reporting=1,
                                  drift_share=0.0)  # fmt: skip

    metrics.forget("ml", "fraud")

    value = registry.get_sample_value
    assert value("kubedrift_monitor_drift_share", {"namespace": "ml", "monitor": "fraud"}) is None
    assert value("kubedrift_monitor_drift_share", {"namespace": "ml", "monitor": "churn"}) == 0.0
