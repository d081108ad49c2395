"""Multivariate drift: the PCA reconstruction error of the standardized numeric features.

A change in how features relate (two correlated features decorrelate, or their correlation
flips) can leave every marginal as it was, so no per-feature test can see it. The rows' distance
from the reference's principal subspace sees it. The baseline stores the fit
(:class:`MultivariateProfile`); every window turns each row into one number, its reconstruction
error, and bins it in the reference error's quantile bins; the decision engine judges those
counts exactly as it judges a binned numeric feature (location, spread and shape e-CUSUMs against
the reference's confidence set, one share of the false-alarm budget).

The fit (:func:`fit_multivariate`), on the numeric features with a positive spread (at least
two), over the training rows where all of them are present:

1. the rows are split at random in two halves: the *fit* half and the *held-out* half;
2. on the fit half, each feature is standardized, ``z = (x - mean) / scale``, and the
   correlation matrix is diagonalised; ``k`` is the smallest number of leading components whose
   eigenvalues sum to at least :data:`VARIANCE_KEPT` of the total, at most ``d - 1`` (``d``
   features), so the error is never identically zero;
3. the baseline stores the means, the scales and the ``d - k`` *residual* directions ``R``
   (the eigenvectors of the smallest eigenvalues, rounded to float32): the reconstruction error
   of a row is ``e(x) = |R z|^2``, equal to ``|z - C^T C z|^2`` for the ``k`` leading
   components ``C`` (``R`` completes ``C`` to an orthonormal basis);
4. the held-out rows' errors (computed with the stored, rounded values) give the reference
   profile: quantile bin edges, counts, minimum and maximum, as for a numeric feature.

The held-out half is what makes the guarantee exact: given the fit, the held-out errors are
independent draws from the very distribution that the errors of live rows follow when nothing
changed, so the reference is a sample of the null like any feature's training column, and the
engine's finite-reference treatment (``engine.reference``) applies to it unchanged.

A row with a missing or non-finite value in any of the ``d`` features has no error: it counts as
missing in the multivariate column and is not judged there (the per-feature missing-value
detectors judge it). Rows with values outside a feature's training range are judged: they land
wherever their error falls.

Keys of ``to_dict``: ``features`` (the ``d`` names, in order), ``means`` and ``scales`` (floats),
``residual`` (base64 little-endian float32, ``(d - k) x d`` row-major), ``kept`` (``k``),
``explained`` (share of variance the ``k`` components keep), ``profile`` (the error's feature
profile, named :data:`COLUMN`).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kubedrift.stats.binning import FloatArray
from kubedrift.stats.column_profile import BaselineError, FeatureProfile, profile_column

#: Name of the reconstruction error's column in windows, tallies and the engine's signals.
COLUMN = "multivariate/reconstruction-error"
#: Share of the standardized variance the kept components explain (the rule for ``k``).
VARIANCE_KEPT = 0.9
#: Fewest complete training rows for a fit (half of them fit, half are the reference).
MIN_ROWS = 100


@dataclass(frozen=True)
class MultivariateProfile:
    """The stored PCA fit and the reference distribution of its reconstruction error."""

    features: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    #: ``(d - k) x d`` residual directions, float32 values.
    residual: FloatArray
    kept: int
    explained: float
    profile: FeatureProfile

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MultivariateProfile):
            return NotImplemented
        return (
            (self.features, self.means, self.scales, self.kept, self.explained, self.profile)
            == (
                other.features,
                other.means,
                other.scales,
                other.kept,
                other.explained,
                other.profile,
            )
        ) and bool(np.array_equal(self.residual, other.residual))

    def __hash__(self) -> int:
        return hash((self.features, self.kept, self.profile.counts))

    def errors(self, columns: Sequence[npt.NDArray[Any] | None], size: int) -> FloatArray:
        """Reconstruction error of each of ``size`` rows given the ``d`` feature columns in
        :attr:`features` order (``None`` for a column the batch lacks); NaN where a value is
        missing or not finite.

        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=4000); y = x + 0.3 * rng.normal(size=4000)
        >>> fit = fit_multivariate({"x": x, "y": y}, ("x", "y"))
        >>> fit.kept, fit.residual.shape
        (1, (1, 2))
        >>> errors = fit.errors([np.array([1.0, 1.0]), np.array([1.0, -1.0])], 2)
        >>> bool(errors[1] > 10 * errors[0])
        True
        """
        if any(c is None for c in columns):
            return np.full(size, np.nan)
        matrix = np.array(columns, dtype=np.float64).reshape(len(self.features), size)
        z = (matrix - self._means) / self._scales
        projected = self.residual @ z
        with np.errstate(invalid="ignore"):
            result: FloatArray = np.einsum("ij,ij->j", projected, projected)
        return result

    @property
    def _means(self) -> FloatArray:
        return np.asarray(self.means, dtype=np.float64)[:, None]

    @property
    def _scales(self) -> FloatArray:
        return np.asarray(self.scales, dtype=np.float64)[:, None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "means": list(self.means),
            "scales": list(self.scales),
            "residual": base64.b64encode(self.residual.astype("<f4").tobytes()).decode("ascii"),
            "kept": self.kept,
            "explained": self.explained,
            "profile": self.profile.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MultivariateProfile:
        try:
            features = tuple(str(f) for f in data["features"])
            d = len(features)
            raw = base64.b64decode(str(data["residual"]).encode("ascii"), validate=True)
            residual = np.frombuffer(raw, dtype="<f4").astype(np.float64)
            if d < 2 or residual.size % d or not residual.size:
                raise BaselineError("multivariate: residual directions do not fit the features")
            profile = cls(
                features=features,
                means=tuple(float(v) for v in data["means"]),
                scales=tuple(float(v) for v in data["scales"]),
                residual=residual.reshape(residual.size // d, d),
                kept=int(data["kept"]),
                explained=float(data["explained"]),
                profile=FeatureProfile.from_dict(data["profile"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, BaselineError):
                raise
            raise BaselineError(f"malformed multivariate profile: {error!r}") from error
        if len(profile.means) != d or len(profile.scales) != d or profile.profile.name != COLUMN:
            raise BaselineError("multivariate: means, scales or profile do not fit the features")
        profile.residual.flags.writeable = False
        return profile


def fit_multivariate(
    columns: Mapping[str, npt.NDArray[Any]],
    features: Sequence[str],
    *,
    bins: int = 10,
    sample_size: int = 1000,
    seed: int = 0,
) -> MultivariateProfile | None:
    """Fit the PCA of the ``features`` columns (numeric) as the module docstring says; ``None``
    when fewer than two of them vary or fewer than :data:`MIN_ROWS` rows are complete."""
    matrix = np.array([np.asarray(columns[name], dtype=np.float64) for name in features])
    complete = np.isfinite(matrix).all(axis=0)
    rows = matrix[:, complete]
    varying = [i for i in range(len(features)) if rows.shape[1] and float(rows[i].std()) > 0]
    if len(varying) < 2 or rows.shape[1] < MIN_ROWS:
        return None
    names = tuple(features[i] for i in varying)
    rows = rows[varying]
    rng = np.random.default_rng(seed)
    order = rng.permutation(rows.shape[1])
    half = rows.shape[1] // 2
    fit, held_out = rows[:, order[:half]], rows[:, order[half:]]
    means = fit.mean(axis=1)
    scales = fit.std(axis=1)
    if (scales <= 0).any():
        return None
    z = (fit - means[:, None]) / scales[:, None]
    correlation = (z @ z.T) / z.shape[1]
    eigenvalues, eigenvectors = np.linalg.eigh(correlation)  # ascending
    descending = eigenvalues[::-1].clip(min=0.0)
    total = float(descending.sum())
    shares = np.cumsum(descending) / total
    kept = min(int(np.searchsorted(shares, VARIANCE_KEPT - 1e-12)) + 1, len(names) - 1)
    residual = eigenvectors[:, : len(names) - kept].T.astype(np.float32).astype(np.float64)
    residual.flags.writeable = False
    profile = MultivariateProfile(
        features=names,
        means=tuple(float(v) for v in means),
        scales=tuple(float(v) for v in scales),
        residual=residual,
        kept=kept,
        explained=float(shares[kept - 1]),
        profile=FeatureProfile(COLUMN, "numeric", 0, 0, (0,)),
    )
    errors = profile.errors(list(held_out), held_out.shape[1])
    reference = profile_column(
        COLUMN,
        errors,
        "numeric",
        bins=bins,
        max_categories=0,
        sample_size=sample_size,
        rng=rng,
    )
    return MultivariateProfile(
        profile.features,
        profile.means,
        profile.scales,
        residual,
        kept,
        profile.explained,
        reference,
    )
