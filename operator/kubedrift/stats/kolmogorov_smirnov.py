"""The two-sample Kolmogorov-Smirnov test, equal to ``scipy.stats.ks_2samp`` without its import.

Use :func:`two_sample_ks` where ``scipy.stats.ks_2samp(reference, current)`` (two-sided,
``method="auto"``) would do: it returns the very same statistic and p-value, bit for bit, but
does not import ``scipy.stats``. That package loads most of scipy (optimize, integrate,
interpolate, sparse, spatial and some hundred distributions) and adds about 46 MB to a process's
RSS, while the operator and the sidecar need this one test from it.

What ``ks_2samp`` computes, and how this module gets the same numbers:

- The statistic D is the largest gap between the two empirical CDFs, each evaluated at every
  value of both samples (ties count on the right), as here.
- When neither sample holds more than 10 000 values, scipy uses the exact null distribution:
  D is rounded to the lattice ``h / lcm(n1, n2)``, and that rounded value is the statistic it
  reports. With equal sizes the tail probability has a closed form (an alternating sum of
  ratios of binomial coefficients, evaluated here in the same nested order as scipy, so the
  floating-point result is identical). With unequal sizes scipy counts lattice paths with a
  compiled routine (``_compute_outer_prob_inside_method`` in ``scipy.stats._stats_pythran``,
  which needs numpy only); this module loads that extension from its file, without running
  ``scipy.stats``' package initialiser, and calls it.
- Everything else is handed to ``scipy.stats.ks_2samp`` itself, imported on first use: the
  asymptotic path (a sample larger than 10 000), an exact computation that fails (scipy then
  warns and switches to the asymptotic path), empty samples or NaN values, and a scipy that no
  longer ships the compiled routine. The operator never takes these paths with its defaults:
  baseline samples and window reservoirs hold at most 1 000 values.

The unit tests compare both results with ``scipy.stats.ks_2samp`` for equal, unequal and tied
samples, and check that the operator evaluates a monitor without ``scipy.stats`` in
``sys.modules``.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import math
import os
from collections.abc import Callable

import numpy as np

from kubedrift.stats.binning import FloatArray

#: Largest sample size for which ``ks_2samp(method="auto")`` uses the exact distribution.
MAX_EXACT_SIZE = 10_000
_COMPILED_MODULE = "scipy.stats._stats_pythran"
_INSIDE_METHOD = "_compute_outer_prob_inside_method"

PathCounter = Callable[[int, int, int, int], float]


def two_sample_ks(reference: FloatArray, current: FloatArray) -> tuple[float, float]:
    """``(statistic, p_value)`` of the two-sided two-sample KS test, as ``ks_2samp`` gives them."""
    n1, n2 = reference.size, current.size
    if (
        min(n1, n2) == 0
        or max(n1, n2) > MAX_EXACT_SIZE
        or np.isnan(reference).any()
        or np.isnan(current).any()
    ):
        return _scipy_ks(reference, current)
    gcd = math.gcd(n1, n2)
    lcm = (n1 // gcd) * n2
    steps = int(np.round(largest_cdf_gap(reference, current) * lcm))
    if steps == 0:
        return 0.0, 1.0
    if n1 == n2:
        p_value = equal_sizes_tail(n1, steps)
    else:
        count_paths = compiled_path_counter()
        if count_paths is None:
            return _scipy_ks(reference, current)
        p_value = float(count_paths(n1, n2, gcd, steps))
    if not 0.0 <= p_value <= 1.0:
        return _scipy_ks(reference, current)
    return steps / lcm, p_value


def largest_cdf_gap(reference: FloatArray, current: FloatArray) -> float:
    """The unrounded statistic: ``max |F_reference(x) - F_current(x)|`` over both samples."""
    first, second = np.sort(reference), np.sort(current)
    points = np.concatenate([first, second])
    gaps = (
        np.searchsorted(first, points, side="right") / first.size
        - np.searchsorted(second, points, side="right") / second.size
    )
    above = gaps.max()
    below = np.clip(-gaps.min(), 0, 1)
    return float(below if below > above else above)


def equal_sizes_tail(n: int, steps: int) -> float:
    """``P(D >= steps / n)`` for two samples of ``n`` values each under the null hypothesis.

    The tail is ``2 * sum_{k>=1} (-1)**(k+1) * C(2n, n - k*steps) / C(2n, n)``. The ratio of
    consecutive terms ``C(2n, n-(k+1)s) / C(2n, n-ks)`` is a product of ``s`` factors, so the sum
    is evaluated innermost term first as ``r_0 (1 - r_1 (1 - r_2 (...)))`` with no large
    binomial ever formed.
    """
    tail = 0.0
    for k in range(n // steps, -1, -1):
        ratio = 1.0
        offset = k * steps
        for j in range(steps):
            ratio = (n - offset - j) * ratio / (n + offset + j + 1)
        tail = ratio * (1.0 - tail)
    return 2 * tail


@functools.cache
def compiled_path_counter() -> PathCounter | None:
    """scipy's compiled lattice-path count for unequal sizes, or ``None`` if this scipy lacks it.

    The extension module is loaded from its file in scipy's ``stats`` directory: importing it by
    name would first import the ``scipy.stats`` package, which is what this module avoids.
    """
    import scipy  # noqa: PLC0415 - the package only; numpy is its sole import here

    loaders = (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES)
    for directory in scipy.__path__:
        finder = importlib.machinery.FileFinder(os.path.join(directory, "stats"), loaders)
        spec = finder.find_spec(_COMPILED_MODULE)
        if spec is None or spec.loader is None:
            continue
        try:
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        except ImportError:
            return None
        counter: PathCounter | None = getattr(module, _INSIDE_METHOD, None)
        return counter
    return None


def _scipy_ks(reference: FloatArray, current: FloatArray) -> tuple[float, float]:
    from scipy import stats  # noqa: PLC0415 - about 46 MB; only the paths named above need it

    result = stats.ks_2samp(reference, current)
    return float(result.statistic), float(result.pvalue)
