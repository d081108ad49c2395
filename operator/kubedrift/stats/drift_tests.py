"""Two-sample drift tests between a reference and a current distribution.

Two families, used through :func:`run_test`:

- *p-value tests* answer "could both samples come from one distribution?": ``ks`` (on raw
  samples, equal to ``scipy.stats.ks_2samp`` with its default ``method="auto"``, computed by
  :mod:`~kubedrift.stats.kolmogorov_smirnov` without importing ``scipy.stats``) and
  ``chi2`` (Pearson's test of homogeneity on the 2 x k table of reference and current bin counts,
  no Yates correction, bins empty on both sides dropped; the statistic equal to
  ``scipy.stats.chi2_contingency(table, correction=False)``'s, the p-value within 1e-11 relative,
  from :func:`~kubedrift.stats.distributions.chi_square_sf`). They come with an *effect size*, a
  probability difference in [0, 1] that does not grow with the sample size: the KS statistic
  itself (the largest CDF gap) and, for chi2, the total variation distance between the two bin
  distributions (the largest gap in probability over any set of bins).
- *distances* answer "how far apart are they?" and are compared with a threshold directly:
  ``psi``, ``jensenshannon`` (base 2, so in [0, 1]; equal to
  ``scipy.spatial.distance.jensenshannon(p, q, base=2)`` on the bin probabilities),
  ``hellinger`` (``sqrt(1 - sum(sqrt(p q)))``, in [0, 1]) and ``wasserstein`` (the first
  Wasserstein distance between raw samples, equal to ``scipy.stats.wasserstein_distance``,
  divided by the reference standard deviation so that it reads in reference sigmas).

PSI and empty bins: ``PSI = sum((q - p) * ln(q / p))`` is infinite when a bin is empty on one
side. Bins empty on both sides are dropped (they carry no information), then both count vectors
get half a count in each of the k remaining bins (``p_i = (r_i + 0.5) / (R + k/2)``, the Jeffreys
prior), so a bin seen on one side only adds a large but finite term.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kubedrift.stats.binning import FloatArray, IntArray
from kubedrift.stats.distributions import chi_square_sf
from kubedrift.stats.kolmogorov_smirnov import two_sample_ks
from kubedrift.stats.settings import DriftMethod

P_VALUE_METHODS: frozenset[str] = frozenset({"ks", "chi2"})
SAMPLE_METHODS: frozenset[str] = frozenset({"ks", "wasserstein"})
#: Threshold used when neither the feature nor the monitor sets one: the significance level for
#: p-value tests, the distance at or above which a feature drifts for the others.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "ks": 0.05,
    "chi2": 0.05,
    "psi": 0.2,
    "jensenshannon": 0.1,
    "hellinger": 0.1,
    "wasserstein": 0.1,
}
PSI_PSEUDOCOUNT = 0.5


@dataclass(frozen=True)
class TestOutcome:
    """Raw result of one test: ``p_value`` and ``effect`` are ``None`` for distances."""

    statistic: float
    p_value: float | None
    effect: float | None


def ks(reference: FloatArray, current: FloatArray) -> TestOutcome:
    """Two-sample Kolmogorov-Smirnov test on raw samples."""
    statistic, p_value = two_sample_ks(reference, current)
    return TestOutcome(statistic, p_value, statistic)


def chi2(reference: IntArray, current: IntArray) -> TestOutcome:
    """Pearson chi-square test of homogeneity on two count vectors over the same bins."""
    table = np.vstack([reference, current]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    effect = total_variation(reference, current)
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return TestOutcome(0.0, 1.0, effect)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    p_value = chi_square_sf(statistic, table.shape[1] - 1)
    return TestOutcome(statistic, p_value, effect)


def psi(reference: IntArray, current: IntArray) -> TestOutcome:
    """Population stability index with a half-count pseudocount per bin."""
    seen = (reference + current) > 0
    p = _smoothed(reference[seen])
    q = _smoothed(current[seen])
    return TestOutcome(float(np.sum((q - p) * np.log(q / p))), None, None)


def jensen_shannon(reference: IntArray, current: IntArray) -> TestOutcome:
    """Jensen-Shannon distance (square root of the divergence), base 2."""
    p, q = _probabilities(reference), _probabilities(current)
    m = (p + q) / 2
    divergence = 0.5 * (_kl(p, m) + _kl(q, m)) / np.log(2)
    return TestOutcome(float(np.sqrt(max(divergence, 0.0))), None, None)


def hellinger(reference: IntArray, current: IntArray) -> TestOutcome:
    """Hellinger distance between the bin distributions."""
    p, q = _probabilities(reference), _probabilities(current)
    return TestOutcome(float(np.sqrt(max(1.0 - np.sum(np.sqrt(p * q)), 0.0))), None, None)


def wasserstein(reference: FloatArray, current: FloatArray, scale: float) -> TestOutcome:
    """First Wasserstein distance between raw samples divided by ``scale`` (reference std)."""
    return TestOutcome(wasserstein_distance(reference, current) / scale, None, None)


def wasserstein_distance(u: FloatArray, v: FloatArray) -> float:
    """Area between the two empirical CDFs (unweighted 1-D optimal transport cost)."""
    u, v = np.sort(u), np.sort(v)
    points = np.sort(np.concatenate([u, v]))
    widths = np.diff(points)
    u_cdf = np.searchsorted(u, points[:-1], side="right") / u.size
    v_cdf = np.searchsorted(v, points[:-1], side="right") / v.size
    return float(np.sum(np.abs(u_cdf - v_cdf) * widths))


def total_variation(reference: IntArray, current: IntArray) -> float:
    """Half the L1 distance between the two bin distributions, in [0, 1]."""
    return float(0.5 * np.abs(_probabilities(reference) - _probabilities(current)).sum())


def run_test(
    method: DriftMethod,
    *,
    reference_counts: IntArray,
    current_counts: IntArray,
    reference_sample: FloatArray | None = None,
    current_sample: FloatArray | None = None,
    scale: float = 1.0,
) -> TestOutcome:
    """Dispatch to one test; ``ks`` and ``wasserstein`` need the raw samples."""
    if method in SAMPLE_METHODS:
        if reference_sample is None or current_sample is None:
            raise ValueError(f"{method} needs raw numeric samples")
        if method == "ks":
            return ks(reference_sample, current_sample)
        return wasserstein(reference_sample, current_sample, scale)
    counted = {"chi2": chi2, "psi": psi, "jensenshannon": jensen_shannon, "hellinger": hellinger}
    if method not in counted:
        raise ValueError(f"unknown drift method {method!r}")
    return counted[method](reference_counts, current_counts)


def _probabilities(counts: IntArray) -> FloatArray:
    total = counts.sum()
    return counts / total if total else np.zeros(counts.shape)


def _smoothed(counts: IntArray) -> FloatArray:
    padded = counts.astype(np.float64) + PSI_PSEUDOCOUNT
    smoothed: FloatArray = padded / padded.sum()
    return smoothed


def _kl(p: FloatArray, q: FloatArray) -> float:
    present = p > 0
    return float(np.sum(p[present] * np.log(p[present] / q[present])))
