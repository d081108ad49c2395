"""The dashboard and the alerts query only series the operator and the sidecar really export."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from kubedrift.controller.operator_metrics import make_metrics as operator_metrics
from kubedrift.sidecar.proxy_stats import ProxySnapshot
from kubedrift.sidecar.sidecar_metrics import make_metrics as sidecar_metrics
from support.chart_render import Helm, find

REPO = Path(__file__).resolve().parents[3]
METRIC = re.compile(r"\bkubedrift_[a-z0-9_]+")


def exported_series() -> set[str]:
    """Sample names in the real exposition of both processes, every labelled family touched."""
    operator_registry = CollectorRegistry()
    operator = operator_metrics(operator_registry)
    operator.record_evaluation(
        "ml", "fraud", result="drift", seconds=0.1, desired=2, reporting=1,
        drift_share=0.5, metric="accuracy", metric_value=0.7,
    )  # fmt: skip
    operator.record_conditions("ml", "fraud", [{"type": "DriftDetected", "status": "True"}])
    assert operator.segments is not None
    operator.segments.record("ml", "fraud", [("de", True, False, 20.0, 300, ("accuracy", 0.8))])
    sidecar_registry = CollectorRegistry()
    sidecar = sidecar_metrics(sidecar_registry)
    sidecar.proxy.attach(ProxySnapshot)
    sidecar.exchanges.labels("open-inference-v2").inc()
    sidecar.monitor_errors.labels("window").inc()
    sidecar.drift_score.labels("", "amount").set(0.3)
    sidecar.drifted.labels("", "amount").set(1)
    sidecar.window_samples.labels("").set(5)
    names: set[str] = set()
    for registry in (operator_registry, sidecar_registry):
        text = generate_latest(registry).decode()
        for family in text_string_to_metric_families(text):
            names.update(sample.name for sample in family.samples)
    return names


def dashboard_queries() -> list[str]:
    dashboard = json.loads((REPO / "charts/kubedrift/files/dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_dashboard_query_names_only_exported_series() -> None:
    exported = exported_series()
    queries = dashboard_queries()
    assert len(queries) == 14
    for query in queries:
        used = set(METRIC.findall(query))
        assert used, f"query without a kubedrift metric: {query}"
        assert used <= exported, f"{query}: {sorted(used - exported)} are not exported"


def test_every_alert_names_only_exported_series(helm: Helm) -> None:
    exported = exported_series()
    (rule,) = find(helm.manifests({"prometheusRule": {"enabled": True}}), "PrometheusRule")
    for entry in rule["spec"]["groups"][0]["rules"]:
        assert set(METRIC.findall(entry["expr"])) <= exported, entry["expr"]


def test_dashboard_config_map_carries_the_dashboard_file_unchanged(helm: Helm) -> None:
    (config_map,) = find(helm.manifests({"grafanaDashboard": {"enabled": True}}), "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config_map["data"]["kubedrift.json"]) == json.loads(
        (REPO / "charts/kubedrift/files/dashboard.json").read_text()
    )
