"""Multiple-testing corrections across the p-value tests of one evaluation.

With 100 features tested at 5 %, about five drift by chance alone. The corrections return
*adjusted* p-values that are compared with the unchanged significance level:

- ``none``: the raw p-values.
- ``bonferroni``: ``min(1, m p)``; controls the chance of any false alarm (family-wise error).
- ``benjamini-hochberg``: the step-up adjusted p-values ``min over j >= i of (m / j) p_(j)``;
  controls the expected share of false alarms among the drifted features (false discovery
  rate), so it keeps more power when many features really drift.
"""

from __future__ import annotations

import numpy as np

from kubedrift.stats.binning import FloatArray
from kubedrift.stats.settings import Correction


def adjust(p_values: FloatArray, correction: Correction) -> FloatArray:
    """Adjusted p-values in the input order."""
    m = p_values.size
    if correction == "none" or m == 0:
        return p_values.copy()
    if correction == "bonferroni":
        bonferroni: FloatArray = np.minimum(p_values * m, 1.0)
        return bonferroni
    if correction != "benjamini-hochberg":
        raise ValueError(f"unknown correction {correction!r}")
    order = np.argsort(p_values)
    scaled = p_values[order] * m / np.arange(1, m + 1)
    stepped = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    adjusted: FloatArray = np.empty(m)
    adjusted[order] = stepped
    return adjusted
