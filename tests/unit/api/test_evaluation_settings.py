"""evaluation_settings: every spec field the statistics core reads arrives under its own name."""

from __future__ import annotations

from typing import Any

from kubedrift.api.spec import parse_spec
from kubedrift.api.spec_settings import evaluation_settings
from kubedrift.stats.settings import (
    DriftSettings,
    EvaluationSettings,
    FeatureOverride,
    PerformanceSettings,
    WindowSettings,
)

MINIMAL: dict[str, Any] = {
    "target": {"deployment": "m", "port": 8080},
    "baseline": {"configMapRef": {"name": "b"}},
}


def test_minimal_spec_maps_to_the_core_defaults() -> None:
    settings = evaluation_settings(parse_spec(MINIMAL))
    assert settings == EvaluationSettings(
        drift=DriftSettings(), performance=None, window=WindowSettings()
    )


def test_every_field_is_carried_over() -> None:
    spec = parse_spec(
        {
            **MINIMAL,
            "window": {"samples": 500, "maxAge": "1h30m", "minSamples": 50},
            "drift": {
                "method": "psi",
                "threshold": 0.2,
                "correction": "benjamini-hochberg",
                "driftShare": 0.4,
                "warningShare": 0.2,
                "minEffect": 0.05,
                "prediction": {"enabled": False, "method": "chi2", "threshold": 0.01},
                "embeddings": {"enabled": False},
            },
            "features": [
                {"name": "amount", "method": "ks", "threshold": 0.001},
                {"name": "country", "type": "categorical", "ignore": True},
            ],
            "performance": {
                "metric": "f1",
                "threshold": 0.8,
                "minLabeledSamples": 300,
                "confidence": 0.9,
                "positiveLabel": "fraud",
            },
        }
    )

    assert evaluation_settings(spec) == EvaluationSettings(
        drift=DriftSettings(
            method="psi",
            threshold=0.2,
            correction="benjamini-hochberg",
            drift_share=0.4,
            warning_share=0.2,
            min_effect=0.05,
            features=(
                FeatureOverride(name="amount", method="ks", threshold=0.001),
                FeatureOverride(name="country", type="categorical", ignore=True),
            ),
            prediction=False,
            embeddings=False,
            prediction_method="chi2",
            prediction_threshold=0.01,
        ),
        performance=PerformanceSettings(
            metric="f1",
            threshold=0.8,
            min_labeled_samples=300,
            confidence=0.9,
            positive_label="fraud",
        ),
        window=WindowSettings(samples=500, max_age_seconds=5400.0, min_samples=50),
    )


def test_regression_metric_keeps_a_threshold_above_one() -> None:
    spec = parse_spec({**MINIMAL, "performance": {"metric": "mae", "threshold": 12.5}})
    performance = evaluation_settings(spec).performance
    assert performance == PerformanceSettings(metric="mae", threshold=12.5)
