"""What a finite reference can vouch for: confidence sets around the training data's frequencies.

The baseline holds frequencies estimated from ``m`` training rows, not the true distribution. A
detector that took them as the truth would, on traffic from the very distribution the reference
was drawn from, keep finding a "change" of the size of the estimation error, sooner the more
traffic it sees. So every signal tests a *composite* null: the live distribution is any ``p``
the reference cannot rule out.

- **Bins** (a column's reference counts ``n_1..n_k``, ``m = sum n``, ``p_hat = n / m``): the ball
  ``C = {p : KL(p_hat || p) <= r}``. Agrawal (2020) bounds ``P(KL(p_hat || p) >= eps) <=
  exp(-m eps) (e eps m / (k - 1))^(k - 1)`` for ``eps > (k - 1) / m``; :func:`kl_radius` solves
  it for the level ``delta``, so the true ``p`` lies in ``C`` with probability at least
  ``1 - delta``.
- **Rates** (``x`` events in ``m`` reference trials: missing values, errors): the one-sided
  Chernoff bound, ``p_up`` the largest ``p`` with ``m kl(x/m, p) <= ln(1/delta)``
  (:func:`rate_upper_bound`); the null is ``p <= p_up``.
- **Out-of-range values**: no training value lies outside ``[min, max]`` by construction; the
  probability mass outside is ``Beta(2, m - 1)`` distributed for continuous data whatever the
  distribution (two of ``m + 1`` uniform spacings), and :func:`outside_mass_upper_bound` takes
  its upper ``delta`` quantile.

Against a composite null an alternative ``q`` earns evidence through its *reverse information
projection* ``p* = argmin_{p in C} KL(q || p)``: for every ``p`` in a convex ``C``,
``E_p[q(X) / p*(X)] <= 1`` (the first-order condition of the projection), so ``q / p*`` is an
e-value for the whole ball and a product of them over independent rows is one too. For the KL
ball the projection is a mixture ``p* = t q + (1 - t) p_hat`` (:func:`projection`): Lagrange's
condition ``q_i / p_i + lambda p_hat_i / p_i = 1 + lambda`` gives exactly that shape, with ``t``
set so that ``KL(p_hat || p*) = r``. An alternative inside the ball (a change smaller than what
the reference can tell) earns nothing, by design.
"""

from __future__ import annotations

import math

import numpy as np

from kubedrift.stats.binning import FloatArray

#: Bisection steps for radii, bounds and projections: 2^-60 of the bracket, below float noise.
_STEPS = 60


def kl_radius(bins: int, m: int, delta: float) -> float:
    """Radius ``r`` with ``P(KL(p_hat || p) >= r) <= delta`` for ``bins`` bins and ``m`` rows.

    >>> round(kl_radius(10, 1000, 0.01), 4)
    0.0214
    """
    if bins <= 1 or m <= 0:
        return 0.0 if bins <= 1 else math.inf
    d = bins - 1
    target = math.log(1 / delta) / d
    # u - 1 - ln u = target for u > 1 (u = m r / d).
    low, high = 1.0, 2.0
    while high - 1 - math.log(high) < target:
        high *= 2
    for _ in range(_STEPS):
        middle = (low + high) / 2
        if middle - 1 - math.log(middle) < target:
            low = middle
        else:
            high = middle
    return high * d / m


def bernoulli_kl(p: float, q: float) -> float:
    """``kl(p, q)`` between Bernoulli rates (``q`` strictly inside (0, 1))."""
    total = 0.0
    if p > 0:
        total += p * math.log(p / q)
    if p < 1:
        total += (1 - p) * math.log((1 - p) / (1 - q))
    return total


def rate_upper_bound(events: int, trials: int, delta: float) -> float:
    """Chernoff upper confidence bound at level ``1 - delta`` for a rate seen ``events`` times in
    ``trials`` (1 without trials).

    >>> round(rate_upper_bound(150, 1000, 0.01), 4)
    0.1864
    """
    if trials <= 0:
        return 1.0
    estimate = events / trials
    bar = math.log(1 / delta) / trials
    low, high = estimate, 1.0
    for _ in range(_STEPS):
        middle = (low + high) / 2
        if middle >= 1 or bernoulli_kl(estimate, middle) > bar:
            high = middle
        else:
            low = middle
    return min(high, 1.0)


def outside_mass_upper_bound(m: int, delta: float) -> float:
    """Upper ``delta`` quantile of ``Beta(2, m - 1)``: the mass of a continuous distribution
    outside the range of ``m`` draws from it (1 without draws).

    >>> round(outside_mass_upper_bound(1000, 0.01), 5)
    0.00662
    """
    if m < 2:
        return 1.0

    def survival(x: float) -> float:
        return (1 - x) ** m + m * x * (1 - x) ** (m - 1)

    low, high = 0.0, 1.0
    for _ in range(_STEPS):
        middle = (low + high) / 2
        if survival(middle) > delta:
            low = middle
        else:
            high = middle
    return high


def kl_rows(p: FloatArray, q: FloatArray) -> FloatArray:
    """``KL(p || q)`` row by row (0 log 0 = 0; ``q`` positive wherever ``p`` is)."""
    positive = p > 0
    safe_p = np.where(positive, p, 1.0)
    safe_q = np.where(positive, q, 1.0)
    result: FloatArray = (np.where(positive, p, 0.0) * np.log(safe_p / safe_q)).sum(axis=-1)
    return result


#: Newton steps of :func:`projection`; it converges quadratically from above, and stops early.
_NEWTON_STEPS = 30


def projection(q: FloatArray, reference: FloatArray, radius: FloatArray) -> FloatArray:
    """The reverse information projection of each row of ``q`` onto its KL ball around the
    matching row of ``reference`` (radius per row): ``q`` itself when it lies inside.

    Rows of ``q`` must be positive wherever the reference is. Shapes: ``q`` and ``reference``
    ``(..., bins)``, ``radius`` broadcastable to ``q.shape[:-1]``. The mixture weight ``t`` solves
    ``f(t) = KL(reference || t q + (1 - t) reference) - r = 0``; ``f`` is convex and increasing on
    [0, 1] (``f'(0) = 0``, ``f'' > 0``), so Newton's method from ``t = 1`` decreases monotonically
    to the root; the result is then moved inside the ball by a relative 1e-9.

    >>> p_hat = np.array([0.5, 0.5]); q = np.array([0.9, 0.1])
    >>> p = projection(q, p_hat, np.array(0.02))
    >>> bool(abs(kl_rows(p_hat, p) - 0.02) < 1e-8), bool(p[0] > 0.5)
    (True, True)
    """
    reference = np.broadcast_to(reference, q.shape)
    radius = np.broadcast_to(np.asarray(radius, dtype=np.float64), q.shape[:-1])
    positive = reference > 0
    weight = np.where(positive, reference, 0.0)
    safe_reference = np.where(positive, reference, 1.0)
    difference = q - reference
    t = np.ones(q.shape[:-1])
    outside = kl_rows(reference, q) > radius
    for _ in range(_NEWTON_STEPS):
        mixed = safe_reference + t[..., None] * np.where(positive, difference, 0.0)
        value = (weight * np.log(safe_reference / mixed)).sum(axis=-1) - radius
        slope = -(weight * difference / mixed).sum(axis=-1)
        active = outside & (value > 1e-13) & (slope > 0)
        if not active.any():
            break
        t = np.where(active, t - value / np.where(active, slope, 1.0), t)
    t = np.clip(t * (1 - 1e-9), 0.0, 1.0)
    mixed = t[..., None] * q + (1 - t[..., None]) * reference
    result: FloatArray = np.where(outside[..., None], mixed, q)
    return result
