"""Settings that steer an evaluation: what to test, how strictly, and what counts as degraded.

These are plain, immutable values. ``kubedrift.api.spec_settings.evaluation_settings(spec)`` builds
them
from a parsed ``ModelMonitor`` spec, so the operator, ``kubedrift check`` and ``kubedrift backtest``
judge a window with exactly the same settings. Field names mirror the CRD fields in snake_case
(``spec.drift.driftShare`` -> ``DriftSettings.drift_share``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: Drift tests. ``auto`` picks one per feature from its type and the sample sizes.
DriftMethod = Literal["auto", "ks", "chi2", "psi", "jensenshannon", "wasserstein", "hellinger"]
#: Multiple-testing corrections across the p-value tests of one evaluation.
Correction = Literal["none", "bonferroni", "benjamini-hochberg"]
FeatureType = Literal["numeric", "categorical"]
#: Metrics computed from labeled predictions. The first six are proportions in [0, 1] where
#: higher is better except ``error-rate``; the last three are errors where lower is better.
Metric = Literal[
    "accuracy",
    "error-rate",
    "precision",
    "recall",
    "f1",
    "f1-macro",
    "mae",
    "rmse",
    "mape",
]
Verdict = Literal["ok", "warning", "drift"]


@dataclass(frozen=True)
class FeatureOverride:
    """Per-feature settings from ``spec.features[]``; ``None`` means "use the monitor default"."""

    name: str
    type: FeatureType | None = None
    method: DriftMethod | None = None
    threshold: float | None = None
    ignore: bool = False


@dataclass(frozen=True)
class DriftSettings:
    """``spec.drift``: how feature and prediction drift are tested.

    ``threshold`` is the significance level for p-value tests (ks, chi2) and the distance above
    which a feature drifts for distance methods (psi, jensenshannon, wasserstein, hellinger);
    ``None`` means the method's documented default. ``min_effect`` is the effect-size floor: a
    p-value test only calls drift when the feature's distance also reaches it, so a large window
    does not fire on a negligible shift. ``warning_share`` is the share of drifted features at
    which the verdict becomes ``warning``; ``drift_share`` the share at which it becomes ``drift``.
    """

    method: DriftMethod = "auto"
    threshold: float | None = None
    correction: Correction = "bonferroni"
    drift_share: float = 0.5
    warning_share: float | None = None
    min_effect: float | None = None
    features: tuple[FeatureOverride, ...] = ()
    prediction: bool = True
    prediction_method: DriftMethod | None = None
    prediction_threshold: float | None = None
    #: Judge the PCA reconstruction error when the baseline has a fit (``stats.multivariate``).
    multivariate: bool = True
    #: Judge the embedding blocks' derived columns when the baseline has any
    #: (``stats.embedding``).
    embeddings: bool = True


@dataclass(frozen=True)
class PerformanceSettings:
    """``spec.performance``: the metric to compute from labels and the degradation rule.

    Degraded when at least ``min_labeled_samples`` labels are joined and the two-sided interval
    at ``confidence`` lies wholly on the wrong side of ``threshold``: its upper bound below it for
    higher-is-better metrics, its lower bound above it for errors (see
    ``kubedrift.stats.performance``). ``positive_label`` selects the positive class for binary
    precision, recall and f1. ``estimated`` lets ``PerformanceDegraded`` also fire on the error
    rate estimated without labels from calibrated probabilities (``stats.engine.estimated``).
    """

    metric: Metric
    threshold: float
    min_labeled_samples: int = 200
    confidence: float = 0.95
    positive_label: str | None = None
    estimated: bool = False


@dataclass(frozen=True)
class WindowSettings:
    """``spec.window``: when a window is full, and how little data is too little to judge."""

    samples: int = 2000
    max_age_seconds: float = 3600.0
    min_samples: int = 100
    reservoir_size: int = 1000
    labeled_capacity: int = 5000


@dataclass(frozen=True)
class EvaluationSettings:
    """Everything ``kubedrift.stats.evaluate`` needs besides the baseline and the window."""

    drift: DriftSettings = field(default_factory=DriftSettings)
    performance: PerformanceSettings | None = None
    window: WindowSettings = field(default_factory=WindowSettings)
