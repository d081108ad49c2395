"""Which drift test a feature gets when the method is ``auto`` (or does not fit the feature).

The rule, by type and sample size:

- numeric feature, window no larger than the reservoir: ``ks`` on raw values. The reservoir then
  holds every value of the window, so the exact test sees all the data.
- numeric feature, window larger than the reservoir: ``chi2`` on the reference quantile bins. The
  bin counts cover every row of the window, where a KS test could only see the reservoir sample,
  and the test costs O(bins) instead of a sort.
- categorical feature: ``chi2`` when the window is large enough for the chi-square approximation
  (Cochran's rule on the expected counts: at least 80 % of the reference's non-empty bins expect
  5 or more window values and none expects less than 1), else ``jensenshannon``, a distance that
  needs no asymptotics.

``ks`` and ``wasserstein`` need raw numeric values; asked for a categorical feature they fall back
to this rule (a per-feature override that does so is an error, see ``evaluation``).
"""

from __future__ import annotations

import numpy as np

from kubedrift.stats.baseline import FeatureProfile
from kubedrift.stats.drift_tests import SAMPLE_METHODS
from kubedrift.stats.settings import DriftMethod

COCHRAN_MIN_EXPECTED = 5.0
COCHRAN_SHARE = 0.8


def select_method(
    profile: FeatureProfile, requested: DriftMethod, present: int, reservoir_size: int
) -> DriftMethod:
    """The test for one feature given the requested method and ``present`` window values."""
    if requested != "auto" and (profile.type == "numeric" or requested not in SAMPLE_METHODS):
        return requested
    if profile.type == "numeric":
        return "ks" if present <= reservoir_size else "chi2"
    return "chi2" if cochran_holds(profile, present) else "jensenshannon"


def cochran_holds(profile: FeatureProfile, present: int) -> bool:
    """Whether ``present`` window values give expected counts fit for a chi-square test."""
    probabilities = profile.probabilities()
    expected = probabilities[probabilities > 0] * present
    if expected.size == 0:
        return False
    return bool(expected.min() >= 1 and np.mean(expected >= COCHRAN_MIN_EXPECTED) >= COCHRAN_SHARE)
