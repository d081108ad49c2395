"""Operator metrics, read back through the registry's public API."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from kubedrift.controller.operator_metrics import make_metrics


def test_evaluation_updates_counters_and_per_monitor_gauges() -> None:
    registry = CollectorRegistry()
    metrics = make_metrics(registry)

    metrics.record_evaluation(
        "ml", "fraud", result="drift", seconds=0.2, desired=3, reporting=2,
        drift_share=0.5, metric="accuracy", metric_value=0.7,
    )  # fmt: skip

    value = registry.get_sample_value
    fraud = {"namespace": "ml", "monitor": "fraud"}
    assert value("kubedrift_operator_evaluations_total", {**fraud, "result": "drift"}) == 1
    assert value("kubedrift_operator_evaluations_total", {**fraud, "result": "ok"}) == 0
    assert value("kubedrift_operator_evaluation_duration_seconds_count") == 1
    assert value("kubedrift_monitor_drift_share", {"namespace": "ml", "monitor": "fraud"}) == 0.5
    assert (
        value("kubedrift_monitor_metric_value",
              {"namespace": "ml", "monitor": "fraud", "metric": "accuracy"}) == 0.7
    )  # fmt: skip
    assert value("kubedrift_monitor_sidecars",
                 {"namespace": "ml", "monitor": "fraud", "state": "reporting"}) == 2  # fmt: skip


def test_retrainings_are_counted_by_monitor_and_result() -> None:
    registry = CollectorRegistry()
    metrics = make_metrics(registry)

    metrics.record_retraining("ml", "fraud", "started")
    metrics.record_retraining("ml", "fraud", "failed")
    metrics.record_retraining("ml", "churn", "started")

    def value(monitor: str, result: str) -> float | None:
        labels = {"namespace": "ml", "monitor": monitor, "result": result}
        return registry.get_sample_value("kubedrift_operator_retrainings_total", labels)

    assert (value("fraud", "started"), value("fraud", "failed")) == (1, 1)
    assert (value("churn", "started"), value("churn", "failed")) == (1, 0)
    assert value("fraud", "succeeded") == 0  # every result starts at zero: increase() sees 0 -> 1


def test_a_monitor_whose_first_evaluation_failed_has_every_result_from_zero() -> None:
    registry = CollectorRegistry()
    metrics = make_metrics(registry)

    metrics.record_failed_evaluation("ml", "fraud")

    def value(result: str) -> float | None:
        labels = {"namespace": "ml", "monitor": "fraud", "result": result}
        return registry.get_sample_value("kubedrift_operator_evaluations_total", labels)

    assert (value("error"), value("ok"), value("degraded")) == (1, 0, 0)


def test_api_requests_are_counted_by_method_and_resource() -> None:
    registry = CollectorRegistry()
    metrics = make_metrics(registry)

    for method, resource in [("GET", "pods"), ("GET", "pods"), ("PATCH", "modelmonitors/status")]:
        metrics.record_request(method, resource)

    def value(method: str, resource: str) -> float | None:
        labels = {"method": method, "resource": resource}
        return registry.get_sample_value("kubedrift_operator_api_requests_total", labels)

    assert value("GET", "pods") == 2
    assert value("PATCH", "modelmonitors/status") == 1


def test_gate_and_rollback_decisions_are_counted_from_zero() -> None:
    registry = CollectorRegistry()
    metrics = make_metrics(registry)
    metrics.record_promotion("ml", "fraud", "rejected")
    metrics.record_promotion("ml", "fraud", "rejected")
    metrics.record_promotion("ml", "fraud", "rolled_back")

    def value(decision: str) -> float | None:
        labels = {"namespace": "ml", "monitor": "fraud", "decision": decision}
        return registry.get_sample_value("kubedrift_operator_promotion_decisions_total", labels)

    assert [value(d) for d in ("promoted", "rejected", "not_enough_held_out", "rolled_back")] == [
        0,
        2,
        0,
        1,
    ]


def test_forgetting_a_monitor_drops_only_its_series() -> None:
    registry = CollectorRegistry()
    metrics = make_metrics(registry)
    for name in ("fraud", "churn"):
        metrics.record_evaluation("ml", name, result="ok", seconds=0.1, desired=1, reporting=1,
                                  drift_share=0.0)  # fmt: skip
        metrics.record_retraining("ml", name, "started")
        metrics.record_labels("ml", name, {"joined": 2})

    metrics.forget("ml", "fraud")

    def series(monitor: str) -> list[str]:
        return sorted(
            sample.name
            for family in registry.collect()
            for sample in family.samples
            if sample.labels.get("monitor") == monitor and not sample.name.endswith("_created")
        )

    assert series("fraud") == []
    assert series("churn") == sorted(
        ["kubedrift_monitor_drift_share"]
        + ["kubedrift_monitor_sidecars"] * 2
        + ["kubedrift_operator_evaluations_total"] * 6
        + ["kubedrift_operator_retrainings_total"] * 3
        + ["kubedrift_operator_promotion_decisions_total"] * 4
        + ["kubedrift_operator_labels_total"] * 5
    )

    metrics.record_evaluation("ml", "fraud", result="ok", seconds=0.1, desired=1, reporting=1)
    value = registry.get_sample_value
    fraud = {"namespace": "ml", "monitor": "fraud"}
    assert value("kubedrift_operator_retrainings_total", {**fraud, "result": "started"}) == 0


def test_the_multivariate_evidence_is_a_per_monitor_gauge_dropped_with_the_monitor() -> None:
    registry = CollectorRegistry()
    metrics = make_metrics(registry)
    fraud = {"namespace": "ml", "monitor": "fraud"}
    metrics.record_evaluation("ml", "fraud", result="ok", seconds=0.1, desired=1, reporting=1)
    assert registry.get_sample_value("kubedrift_monitor_multivariate_evidence", fraud) is None
    metrics.record_evaluation(
        "ml", "fraud", result="drift", seconds=0.1, desired=1, reporting=1,
        multivariate_evidence=12.5,
    )  # fmt: skip
    assert registry.get_sample_value("kubedrift_monitor_multivariate_evidence", fraud) == 12.5
    metrics.forget("ml", "fraud")
    assert registry.get_sample_value("kubedrift_monitor_multivariate_evidence", fraud) is None


def test_the_embedding_evidence_is_a_gauge_per_block_dropped_with_the_monitor() -> None:
    registry = CollectorRegistry()
    metrics = make_metrics(registry)
    text = {"namespace": "ml", "monitor": "fraud", "embedding": "text"}
    metrics.record_evaluation(
        "ml", "fraud", result="drift", seconds=0.1, desired=1, reporting=1,
        embedding_evidence={"text": 17.0, "image": 2.5},
    )  # fmt: skip
    assert registry.get_sample_value("kubedrift_monitor_embedding_evidence", text) == 17.0
    image = {**text, "embedding": "image"}
    assert registry.get_sample_value("kubedrift_monitor_embedding_evidence", image) == 2.5
    metrics.forget("ml", "fraud")
    assert registry.get_sample_value("kubedrift_monitor_embedding_evidence", text) is None
