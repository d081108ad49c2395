"""parse_spec: typed values with defaults for good specs, a SpecError naming the field otherwise."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubedrift.api.spec import Duration, ModelMonitorSpec, SpecError, parse_spec

MINIMAL: dict[str, Any] = {
    "target": {"deployment": "fraud-model", "port": 8080},
    "baseline": {"configMapRef": {"name": "fraud-baseline"}},
}

JOB_TEMPLATE: dict[str, Any] = {
    "spec": {"template": {"spec": {"containers": [{"name": "train", "image": "trainer"}]}}}
}


def with_(path: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of ``base`` (default MINIMAL) with the dotted ``path`` set to ``value``."""
    spec = copy.deepcopy(MINIMAL if base is None else base)
    node = spec
    *parents, leaf = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return spec


def test_minimal_spec_gets_every_documented_default() -> None:
    spec = parse_spec(MINIMAL)

    assert isinstance(spec, ModelMonitorSpec)
    assert spec.target.container is None
    assert (spec.capture.mode, spec.capture.protocol) == ("proxy", "auto")
    assert spec.capture.sample_rate == 1.0
    assert spec.capture.max_samples_per_second == 200
    assert spec.capture.queue_size == 10000
    assert (spec.capture.listen_port, spec.capture.admin_port) == (8480, 8481)
    assert spec.baseline.config_map_ref.key == "baseline.json"
    assert spec.window.samples == 2000
    assert spec.window.max_age == Duration("1h")
    assert spec.window.min_samples == 100
    assert (spec.drift.method, spec.drift.correction, spec.drift.drift_share) == (
        "auto",
        "bonferroni",
        0.5,
    )
    assert spec.drift.prediction.enabled is True
    assert spec.drift.embeddings.enabled is True
    assert spec.features == ()
    assert spec.performance is None
    assert spec.evaluation.interval.seconds == 30.0
    assert spec.retraining is None
    assert spec.alerts.events is True
    assert spec.alerts.webhook is None


def test_full_spec_round_trips_every_section() -> None:
    spec = parse_spec(
        {
            **MINIMAL,
            "capture": {
                "mode": "mirror",
                "protocol": "json",
                "sampleRate": 0.25,
                "json": {
                    "features": "request.instances",
                    "prediction": "response.predictions",
                    "id": "request.meta.id",
                },
            },
            "features": [
                {"name": "amount", "method": "ks", "threshold": 0.01},
                {"name": "country", "type": "categorical", "ignore": True},
            ],
            "performance": {"metric": "mae", "threshold": 12.5, "labelTTL": "2h"},
            "retraining": {
                "triggers": ["DriftDetected", "PerformanceDegraded"],
                "cooldown": "6h",
                "template": JOB_TEMPLATE,
                "rollout": {"strategy": "none"},
            },
            "alerts": {"webhook": {"url": "https://hooks.example/x", "secretRef": {"name": "s"}}},
        }
    )

    assert spec.capture.json is not None and spec.capture.json.id == "request.meta.id"
    assert [f.name for f in spec.features] == ["amount", "country"]
    assert spec.features[1].type == "categorical" and spec.features[1].ignore
    assert spec.performance is not None
    assert (spec.performance.threshold, spec.performance.label_ttl.seconds) == (12.5, 7200.0)
    assert spec.retraining is not None
    assert spec.retraining.triggers == ("DriftDetected", "PerformanceDegraded")
    assert spec.retraining.rollout.version_env == "MODEL_VERSION"
    assert spec.alerts.webhook is not None and spec.alerts.webhook.secret_ref is not None
    assert spec.alerts.webhook.secret_ref.key == "token"
    assert spec.alerts.webhook.timeout.seconds == 5.0


def test_integer_is_accepted_where_a_number_is_expected() -> None:
    spec = parse_spec(with_("capture.sampleRate", 1))
    assert spec.capture.sample_rate == 1.0 and isinstance(spec.capture.sample_rate, float)


def test_null_counts_as_absent() -> None:
    assert parse_spec(with_("performance", None)).performance is None


def test_job_template_gets_restart_policy_never_and_is_a_copy() -> None:
    body = with_("retraining", {"triggers": ["DriftDetected"], "template": JOB_TEMPLATE})
    spec = parse_spec(body)
    assert spec.retraining is not None and spec.retraining.template is not None
    assert spec.retraining.template["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert "restartPolicy" not in JOB_TEMPLATE["spec"]["template"]["spec"]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        pytest.param({"baseline": MINIMAL["baseline"]}, "spec.target", id="missing-target"),
        pytest.param(with_("target.port", "8080"), "spec.target.port", id="port-as-string"),
        pytest.param(with_("target.port", True), "spec.target.port", id="port-as-boolean"),
        pytest.param(with_("target.prot", 1), "spec.target.prot", id="unknown-field"),
        pytest.param(with_("capture.sampleRate", 0), "spec.capture.sampleRate", id="rate-zero"),
        pytest.param(
            with_("capture.sampleRate", float("nan")), "spec.capture.sampleRate", id="rate-nan"
        ),
        pytest.param(with_("capture.mode", "tap"), "spec.capture.mode", id="unknown-mode"),
        pytest.param(with_("window.maxAge", "1d"), "spec.window.maxAge", id="days-unit"),
        pytest.param(
            with_("evaluation.interval", "4s"), "spec.evaluation.interval", id="interval-below-5s"
        ),
        pytest.param(
            with_("window", {"samples": 50, "minSamples": 60}),
            "spec.window.minSamples",
            id="min-samples-above-samples",
        ),
        pytest.param(
            with_("features", [{"name": "a"}, {"name": "a"}]),
            "spec.features[1]",
            id="duplicate-feature",
        ),
        pytest.param(
            with_("retraining", {"triggers": ["DriftDetected", "DriftDetected"]}),
            "spec.retraining.triggers[1]",
            id="duplicate-trigger",
        ),
        pytest.param(
            with_("retraining", {"triggers": ["DriftDetected"]}),
            "spec.retraining.template",
            id="trigger-without-template",
        ),
    ],
)
def test_invalid_spec_names_the_field(body: dict[str, Any], path: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(body)
    assert caught.value.path == path
    assert str(caught.value).startswith(f"{path}: ")
