"""From a parsed ``ModelMonitor`` spec to the statistics core's ``EvaluationSettings``.

The operator, ``kubedrift check`` and ``kubedrift backtest`` all call :func:`evaluation_settings`
so that one spec yields one verdict wherever the window is judged. Window fields that the CRD does
not expose (``reservoir_size``, ``labeled_capacity``) keep the core's defaults.
"""

from __future__ import annotations

from kubedrift.api.spec import ModelMonitorSpec, PerformanceSpec
from kubedrift.stats.engine.contract import Contract
from kubedrift.stats.segments import SegmentSelection, split_contract
from kubedrift.stats.settings import (
    DriftSettings,
    EvaluationSettings,
    FeatureOverride,
    PerformanceSettings,
    WindowSettings,
)


def evaluation_settings(spec: ModelMonitorSpec) -> EvaluationSettings:
    """The evaluation settings that ``spec`` (from :func:`~kubedrift.api.spec.parse_spec`) asks for.

    >>> from kubedrift.api.spec import parse_spec
    >>> spec = parse_spec({"target": {"deployment": "m", "port": 8080},
    ...                    "baseline": {"configMapRef": {"name": "b"}},
    ...                    "window": {"maxAge": "15m"}})
    >>> evaluation_settings(spec).window.max_age_seconds
    900.0
    """
    drift = spec.drift
    return EvaluationSettings(
        drift=DriftSettings(
            method=drift.method,
            threshold=drift.threshold,
            correction=drift.correction,
            drift_share=drift.drift_share,
            warning_share=drift.warning_share,
            min_effect=drift.min_effect,
            features=tuple(
                FeatureOverride(
                    name=f.name,
                    type=f.type,
                    method=f.method,
                    threshold=f.threshold,
                    ignore=f.ignore,
                )
                for f in spec.features
            ),
            prediction=drift.prediction.enabled,
            prediction_method=drift.prediction.method,
            prediction_threshold=drift.prediction.threshold,
            multivariate=drift.multivariate.enabled,
            embeddings=drift.embeddings.enabled,
        ),
        performance=_performance(spec.performance),
        window=WindowSettings(
            samples=spec.window.samples,
            max_age_seconds=spec.window.max_age.seconds,
            min_samples=spec.window.min_samples,
        ),
    )


def _performance(performance: PerformanceSpec | None) -> PerformanceSettings | None:
    if performance is None:
        return None
    return PerformanceSettings(
        metric=performance.metric,
        threshold=performance.threshold,
        min_labeled_samples=performance.min_labeled_samples,
        confidence=performance.confidence,
        positive_label=performance.positive_label,
        estimated=performance.estimated,
    )


def engine_contract(spec: ModelMonitorSpec) -> Contract:
    """The false-alarm contract ``spec.evaluation`` states, for the decision engine.

    >>> from kubedrift.api.spec import parse_spec
    >>> spec = parse_spec({"target": {"deployment": "m", "port": 8080},
    ...                    "baseline": {"configMapRef": {"name": "b"}}})
    >>> contract = engine_contract(spec)
    >>> contract.mean_time_between_false_alarms / 86400, contract.interval
    (30.0, 30.0)
    """
    stated = stated_contract(spec)
    # With segments, the monitor's own engine gets half the budget (stats.segments).
    return split_contract(stated, 1)[0] if spec.segments is not None else stated


def stated_contract(spec: ModelMonitorSpec) -> Contract:
    """The contract as ``spec.evaluation`` states it, before segments take their share (the
    segments' engines get theirs from it: ``stats.engine.segmented``)."""
    return Contract(
        mean_time_between_false_alarms=spec.evaluation.mean_time_between_false_alarms.seconds,
        interval=spec.evaluation.interval.seconds,
    )


def segment_selection(spec: ModelMonitorSpec) -> SegmentSelection | None:
    """``spec.segments`` for the statistics core, or ``None``."""
    segments = spec.segments
    if segments is None:
        return None
    return SegmentSelection(segments.feature, segments.count, segments.values)
