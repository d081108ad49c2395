"""The alternatives each signal watches for, as log e-value weights per bin or per event.

A detector's evidence in one step is ``log E = sum over rows of log(q(x) / p*(x))`` for its
alternative ``q`` and ``q``'s projection ``p*`` on the reference's confidence set
(``reference``). On binned data that is ``counts @ w`` with one weight per bin, so a step of any
size costs one product whatever the traffic.

- **Location and spread** of a numeric column: exponential tilts of the reference bins,
  ``q_theta ∝ p_hat exp(theta s)``, along the bins' normal scores ``s`` (the standard normal
  quantile of each bin's mid-probability, standardized under ``p_hat``) for location, and along
  ``s^2`` (standardized) for spread. A Gaussian mean shift of ``d`` standard deviations is close
  to the location tilt ``theta = d``; a variance ratio ``v`` to the spread tilt
  ``(1 - 1/v) / sqrt(2)``. The grids below cover 1/16 to 2 and 1/8 to 1 in both directions with
  factor-2 steps, so one alternative is always within a factor sqrt(2) of the change.
- **Categories** of a categorical column: one category's share raised or lowered, the others
  keeping their proportions, ``q ∝ p_hat exp(theta 1[x = c])``, for each category ``c`` and each
  log odds ratio ``theta`` in :data:`CATEGORY_TILTS`. Such a ``q`` differs from the reference only
  in the share of ``c``, so its evidence is a Bernoulli likelihood ratio on ``c``'s count, tested
  against the binary marginal of the column's confidence set (by the data-processing inequality
  the marginal of every distribution in the KL ball lies in the binary ball of the same radius,
  so the e-value holds for the whole null).
- **Shape** (every column): a plug-in alternative, the smoothed frequencies of the column's
  recent rows (a decaying memory, ``engine.SHAPE_MEMORY``); its weights are computed each
  step. It finds any change, at the price of learning it (about ``(k - 1)/2 ln n`` nats for
  ``k`` bins), where the fixed alternatives above earn from the first row.
- **Rates** (missing values, out-of-range values or unseen categories, unknown columns, the
  error rate): Bernoulli alternatives ``p1 = p_up + (1 - p_up) f`` above the reference's upper
  bound ``p_up``, for ``f`` in :data:`RATE_STEPS`. For ``p1 > p_up`` the likelihood ratio
  ``(p1 / p_up)^events ((1 - p1) / (1 - p_up))^non-events`` has expectation at most 1 under every
  rate ``p <= p_up`` (it is increasing in the events), so it is an e-value for the whole null.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from kubedrift.stats.binning import FloatArray
from kubedrift.stats.engine.reference import projection

#: Location tilts, in (about) reference standard deviations of a Gaussian shift.
LOCATION_TILTS = (0.0625, 0.125, 0.25, 0.5, 1.0, 2.0)
#: Spread tilts along the standardized squared normal scores.
SPREAD_TILTS = (0.125, 0.25, 0.5, 1.0)
#: Category tilts: log odds ratios of one category against the rest (a factor e^2 = 7.4 at most).
CATEGORY_TILTS = (0.25, 0.5, 1.0, 2.0)
#: Rate alternatives: the share of the headroom above the reference's bound.
RATE_STEPS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2)
#: Weight of the uniform distribution mixed into every alternative, so that a bin the reference
#: never saw (an unseen category) keeps a positive probability under it.
SMOOTHING = 1e-3

_NORMAL = NormalDist()


def normal_scores(probabilities: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Location and spread scores of ordered bins, each with mean 0 and variance 1 under
    ``probabilities`` (zeros when the bins cannot carry them, e.g. a single occupied bin)."""
    cumulative = np.cumsum(probabilities) - probabilities / 2
    middles = np.clip(cumulative, 1e-12, 1 - 1e-12)
    scores = np.array([_NORMAL.inv_cdf(float(u)) for u in middles])
    location = _standardized(scores, probabilities)
    spread = _standardized(location**2, probabilities)
    return location, spread


def _standardized(values: FloatArray, probabilities: FloatArray) -> FloatArray:
    mean = float(probabilities @ values)
    centred = values - mean
    spread = math.sqrt(float(probabilities @ centred**2))
    if spread < 1e-9:
        return np.zeros_like(values)
    result: FloatArray = centred / spread
    return result


def tilts(probabilities: FloatArray, scores: FloatArray, thetas: FloatArray) -> FloatArray:
    """``q_theta ∝ p exp(theta s)`` for each theta (rows), smoothed (:data:`SMOOTHING`)."""
    logits = thetas[:, None] * scores[None, :]
    logits -= logits.max(axis=1, keepdims=True)
    weights = probabilities[None, :] * np.exp(logits)
    tilted = weights / weights.sum(axis=1, keepdims=True)
    return smoothed(tilted, probabilities.size)


def smoothed(q: FloatArray, bins: int) -> FloatArray:
    """``q`` mixed with the uniform distribution over ``bins`` bins (the first ``bins`` entries
    of the last axis; the padding beyond stays 0)."""
    uniform = np.zeros(q.shape[-1])
    uniform[:bins] = 1.0 / bins
    result: FloatArray = (1 - SMOOTHING) * q + SMOOTHING * uniform
    return result


def bin_weights(q: FloatArray, reference: FloatArray, radius: float) -> FloatArray:
    """``log(q / p*)`` per bin for alternatives ``q`` (rows) against the KL ball of ``radius``
    around ``reference``; all zeros for an alternative inside the ball (it can earn nothing)."""
    projected = projection(q, reference[None, :], np.array(radius))
    with np.errstate(divide="ignore"):
        weights = np.where(
            q > 0, np.log(np.where(q > 0, q, 1.0) / np.where(q > 0, projected, 1.0)), 0.0
        )
    inside = np.all(np.abs(projected - q) < 1e-15, axis=-1)
    result: FloatArray = np.where(inside[:, None], 0.0, weights)
    return result


def rate_alternatives(upper: float) -> FloatArray:
    """Bernoulli alternatives above ``upper`` (see the module docstring)."""
    return np.array([upper + (1 - upper) * step for step in RATE_STEPS])


def rate_weights(upper: float) -> tuple[FloatArray, FloatArray]:
    """Log e-value per event and per non-event for each rate alternative above ``upper``."""
    alternatives = rate_alternatives(upper)
    bound = min(max(upper, 1e-12), 1 - 1e-12)
    top = np.minimum(alternatives, 1 - 1e-12)
    return np.log(top / bound), np.log((1 - top) / (1 - bound))


def category_alternatives(share: float) -> FloatArray:
    """Shares of one category under each tilt of its log odds, up then down
    (:data:`CATEGORY_TILTS`)."""
    thetas = np.array([*CATEGORY_TILTS, *(-t for t in CATEGORY_TILTS)])
    odds = share / (1 - share) * np.exp(thetas)
    result: FloatArray = odds / (1 + odds)
    return result


def category_weights(share: float, radius: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Log e-value per row of the category and per other row for each category alternative of a
    category with reference ``share`` (``0 < share < 1``) in a column whose confidence set has
    ``radius``, and each alternative's effect size (its total variation distance to the
    reference, the change of the category's share). Alternatives inside the ball weigh 0."""
    q = category_alternatives(share)
    weights = bin_weights(np.stack([q, 1 - q], axis=1), np.array([share, 1 - share]), radius)
    return weights[:, 0], weights[:, 1], np.abs(q - share)
