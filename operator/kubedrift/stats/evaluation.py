"""One evaluation of a window against its baseline: the verdict the operator and the CLI report.

Steps, in order:

1. Below ``window.min_samples`` rows nothing is tested (``enough_data`` is false, verdict ``ok``);
   performance is still assessed, since it has its own ``min_labeled_samples``.
2. Each feature that is not ignored and has at least one value in the window and in the
   training data gets a test
   (``selection.select_method``) and its threshold (feature override; else the monitor's
   ``threshold`` when the feature uses the monitor's method, or, under ``auto``, when the chosen
   test is a p-value test (ks, chi2) and the threshold is its significance level; else the
   method's default). The prediction takes ``prediction_method``/``prediction_threshold``, and the
   monitor's method and threshold where those are unset.
3. p-values of all p-value tests are corrected together (``corrections``). A p-value test calls
   drift only when the adjusted p-value is below the significance level *and* the effect size
   reaches ``min_effect`` (default ``DEFAULT_MIN_EFFECT``): the effect-size floor that stops large
   windows from firing on negligible shifts. A distance calls drift at or above its threshold.
4. ``share`` is the share of tested features that drifted. The prediction, when profiled, is
   tested the same way (``prediction_method``/``prediction_threshold``), its p-value corrected in
   the same family as the features' so that the whole evaluation keeps the significance level.
5. Verdict: ``drift`` when ``share >= drift_share`` (with at least one drifted feature) or the
   prediction drifted; ``warning`` when some feature drifted and ``share >= warning_share``
   (any drifted feature when ``warning_share`` is unset); ``ok`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kubedrift.stats.baseline import Baseline, FeatureProfile
from kubedrift.stats.corrections import adjust
from kubedrift.stats.drift_tests import (
    DEFAULT_THRESHOLDS,
    P_VALUE_METHODS,
    SAMPLE_METHODS,
    TestOutcome,
    run_test,
)
from kubedrift.stats.performance import PerformanceResult, assess
from kubedrift.stats.selection import select_method
from kubedrift.stats.settings import (
    DriftMethod,
    DriftSettings,
    EvaluationSettings,
    FeatureOverride,
    Verdict,
)
from kubedrift.stats.window import Window

#: Effect-size floor when ``DriftSettings.min_effect`` is unset: a probability gap of 5 points
#: (KS statistic or total variation distance). docs/statistics.md shows why on data.
DEFAULT_MIN_EFFECT = 0.05


class EvaluationError(ValueError):
    """The settings do not fit the baseline (for example a KS override on a categorical)."""


@dataclass(frozen=True)
class FeatureResult:
    """One feature's (or the prediction's) test. ``p_value`` is the corrected p-value for p-value
    tests (``raw_p_value`` before correction) and ``None`` for distances; ``effect`` is the
    effect size the floor was checked against (``None`` for distances)."""

    name: str
    type: str
    method: DriftMethod
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    raw_p_value: float | None = None
    effect: float | None = None
    min_effect: float | None = None
    samples: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "method": self.method,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "threshold": self.threshold,
            "drifted": self.drifted,
        }


@dataclass(frozen=True)
class Evaluation:
    """The outcome of :func:`evaluate`; ``to_dict`` is the ``kubedrift check --format json``
    document."""

    verdict: Verdict
    share: float
    features: tuple[FeatureResult, ...]
    prediction: FeatureResult | None
    performance: PerformanceResult | None
    samples: int
    labeled: int
    enough_data: bool

    @property
    def drift(self) -> bool:
        return self.verdict == "drift"

    @property
    def degraded(self) -> bool:
        return self.performance is not None and self.performance.degraded

    def to_dict(self) -> dict[str, Any]:
        return {
            "drift": self.drift,
            "share": self.share,
            "features": [feature.to_dict() for feature in self.features],
            "prediction": self.prediction.to_dict() if self.prediction else None,
            "performance": self.performance.to_dict() if self.performance else None,
        }


def evaluate(baseline: Baseline, window: Window, settings: EvaluationSettings) -> Evaluation:
    """Judge ``window`` against ``baseline``; see the module docstring for the rule."""
    performance = None
    if settings.performance is not None and baseline.task is not None:
        performance = assess(window.labels, settings.performance)
    enough = window.samples >= settings.window.min_samples
    if not enough:
        return Evaluation("ok", 0.0, (), None, performance, window.samples, window.labeled, False)
    drift = settings.drift
    overrides = {override.name: override for override in drift.features}
    planned = []
    for index, profile in enumerate(baseline.features):
        override = overrides.get(profile.name)
        if override is not None and override.ignore:
            continue
        present = window.samples - int(window.missing[index])
        if present == 0 or profile.present == 0:
            continue
        method, threshold = _plan(profile, override, drift, present, window)
        planned.append((profile, method, threshold, _outcome(window, index, method), present))
    tested = len(planned)
    planned.extend(_prediction_plan(baseline, window, drift))
    adjusted = adjust(
        np.array([o.p_value for _, m, _, o, _ in planned if m in P_VALUE_METHODS], dtype=float),
        drift.correction,
    ).tolist()
    floor = DEFAULT_MIN_EFFECT if drift.min_effect is None else drift.min_effect
    results = []
    for profile, method, threshold, outcome, present in planned:
        p_value = adjusted.pop(0) if method in P_VALUE_METHODS else None
        results.append(_result(profile, method, threshold, outcome, p_value, floor, present))
    features = results[:tested]
    prediction = results[tested] if len(results) > tested else None
    drifted = sum(feature.drifted for feature in features)
    share = drifted / len(features) if features else 0.0
    verdict: Verdict = "ok"
    if (drifted and share >= drift.drift_share) or (prediction is not None and prediction.drifted):
        verdict = "drift"
    elif drifted and share >= (drift.warning_share or 0.0):
        verdict = "warning"
    return Evaluation(
        verdict,
        share,
        tuple(features),
        prediction,
        performance,
        window.samples,
        window.labeled,
        True,
    )


def _plan(
    profile: FeatureProfile,
    override: FeatureOverride | None,
    drift: DriftSettings,
    present: int,
    window: Window,
) -> tuple[DriftMethod, float]:
    if override is not None and override.type is not None and override.type != profile.type:
        raise EvaluationError(
            f"feature {profile.name!r} is {profile.type} in the baseline but the monitor says "
            f"{override.type}; rebuild the baseline with that type"
        )
    requested = override.method if override and override.method else drift.method
    if profile.type == "categorical" and override and override.method in SAMPLE_METHODS:
        raise EvaluationError(
            f"feature {profile.name!r}: {override.method} needs a numeric "
            "feature but it is categorical"
        )
    method = select_method(profile, requested, present, window.settings.reservoir_size)
    if override is not None and override.threshold is not None:
        return method, override.threshold
    if drift.threshold is not None and (
        method == requested or (requested == "auto" and method in P_VALUE_METHODS)
    ):
        return method, drift.threshold
    return method, DEFAULT_THRESHOLDS[method]


def _outcome(window: Window, index: int, method: DriftMethod) -> TestOutcome:
    profile = window.profiles[index]
    sample = (
        window.reservoir.column(window.numeric_position(index))
        if (profile.type == "numeric")
        else None
    )
    return run_test(
        method,
        reference_counts=np.asarray(profile.counts, dtype=np.int64),
        current_counts=window.column_counts(index),
        reference_sample=profile.sample_array() if sample is not None else None,
        current_sample=sample,
        scale=profile.std or 1.0,
    )


def _result(  # noqa: PLR0917 - private helper, called twice with the same order
    profile: FeatureProfile,
    method: DriftMethod,
    threshold: float,
    outcome: TestOutcome,
    p_value: float | None,
    floor: float,
    present: int,
) -> FeatureResult:
    if p_value is not None:
        drifted = p_value < threshold and (outcome.effect or 0.0) >= floor
        return FeatureResult(
            profile.name,
            profile.type,
            method,
            outcome.statistic,
            p_value,
            threshold,
            drifted,
            outcome.p_value,
            outcome.effect,
            floor,
            present,
        )
    return FeatureResult(
        profile.name,
        profile.type,
        method,
        outcome.statistic,
        None,
        threshold,
        outcome.statistic >= threshold,
        samples=present,
    )


def _prediction_plan(
    baseline: Baseline, window: Window, drift: DriftSettings
) -> list[tuple[FeatureProfile, DriftMethod, float, TestOutcome, int]]:
    profile = baseline.prediction
    if profile is None or not drift.prediction:
        return []
    index = len(window.profiles) - 1
    present = window.samples - int(window.missing[index])
    if present == 0 or profile.present == 0:
        return []
    override = FeatureOverride(
        profile.name, method=drift.prediction_method, threshold=drift.prediction_threshold
    )
    method, threshold = _plan(profile, override, drift, present, window)
    return [(profile, method, threshold, _outcome(window, index, method), present)]
