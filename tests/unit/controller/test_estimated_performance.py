"""Performance estimated without labels in the spec, the sidecar config, the status and metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from kubedrift.api.parsing import SpecError
from kubedrift.api.spec import parse_spec
from kubedrift.api.spec_settings import evaluation_settings
from kubedrift.controller.evaluated_status import evaluated_status
from kubedrift.controller.observation import Merged, observation_from
from kubedrift.controller.operator_metrics import make_metrics
from kubedrift.controller.sidecar_config import render_sidecar_config
from kubedrift.stats.baseline import Baseline, build_baseline
from kubedrift.stats.window import Window
from support.controller_samples import SPEC, make_spec

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def baseline() -> Baseline:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=4_000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    return build_baseline(
        {"x": p, "pred": (p >= 0.5).astype(int), "y": y},
        features=["x"],
        prediction="pred",
        label="y",
        probabilities=["x"],
    )


def capture(**probabilities: str) -> dict[str, Any]:
    return {"probabilities": probabilities}


def test_capture_probabilities_reach_the_sidecar_config() -> None:
    spec = make_spec(capture=capture(output="predict_proba"))
    assert render_sidecar_config(spec)["payload"]["probabilities"] == {"output": "predict_proba"}
    assert "probabilities" not in render_sidecar_config(make_spec()).get("payload", {})


@pytest.mark.parametrize(
    "probabilities",
    [{}, {"output": "p", "path": "response.p"}, {"path": "request.p"}],
)
def test_capture_probabilities_take_exactly_one_response_source(
    probabilities: dict[str, str],
) -> None:
    with pytest.raises(SpecError, match="probabilities"):
        make_spec(capture={"probabilities": probabilities})


def test_performance_estimated_is_opt_in() -> None:
    default = evaluation_settings(make_spec()).performance
    assert default is not None and default.estimated is False
    performance = dict(SPEC["performance"], estimated=True)
    settings = evaluation_settings(parse_spec(dict(SPEC, performance=performance)))
    assert settings.performance is not None and settings.performance.estimated


def observed(labels: bool) -> Any:
    reference = baseline()
    rng = np.random.default_rng(1)
    p = rng.uniform(0.3, 1.0, size=400)
    window = Window(reference, start=0.0)
    predictions = (p >= 0.5).astype(int).astype(str).astype(object)
    window.update({"x": p}, predictions, now=10.0)
    window.add_probabilities(p[:, None])
    if labels:
        truth = (rng.uniform(size=p.size) < p).astype(int).astype(str).astype(object)
        window.add_labeled(predictions, truth, {"x": p}, now=10.0)
    spec = make_spec()
    merged = Merged(window, None, 1)
    return observation_from(merged, 1, reference, evaluation_settings(spec)), spec


def test_status_shows_the_estimate_and_the_realized_value_once_labels_exist() -> None:
    observation, spec = observed(labels=False)
    status = evaluated_status({}, observation, spec, generation=1, now=NOW)
    estimated = status["estimatedPerformance"]
    assert estimated["rows"] == 400 and estimated["labeled"] == 0
    accuracy = estimated["accuracy"]
    assert accuracy["lowerBound"] < accuracy["value"] < accuracy["upperBound"]
    assert "realized" not in accuracy
    assert set(estimated) == {"rows", "labeled", "accuracy", "precision", "recall", "f1", "rocAuc"}
    observation, spec = observed(labels=True)
    status = evaluated_status({}, observation, spec, generation=1, now=NOW)
    accuracy = status["estimatedPerformance"]["accuracy"]
    assert accuracy["lowerBound"] <= accuracy["realized"] <= accuracy["upperBound"]
    assert "realized" not in status["estimatedPerformance"]["rocAuc"]


def test_metrics_export_the_estimate_and_its_band_and_forget_them() -> None:
    registry = CollectorRegistry()
    metrics = make_metrics(registry)
    metrics.record_estimates("ml", "fraud", {"accuracy": (0.8, 0.77, 0.83)})
    labels = {"namespace": "ml", "monitor": "fraud", "metric": "accuracy"}
    name = "kubedrift_monitor_estimated_metric"
    assert registry.get_sample_value(name, labels | {"bound": "value"}) == 0.8
    assert registry.get_sample_value(name, labels | {"bound": "lower"}) == 0.77
    metrics.forget("ml", "fraud")
    assert registry.get_sample_value(name, labels | {"bound": "value"}) is None
