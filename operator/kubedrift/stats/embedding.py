"""Embeddings and wide tensors: a block of ``d`` values per row judged through a projection.

A 768- or 2048-wide input (a sentence embedding, an image's feature vector) profiled as ``d``
plain columns gives ``d`` univariate tests that share the false-alarm budget, a baseline far
above the ConfigMap limit, and no test of how the values move together. An *embedding block*
is judged as a few derived numeric columns instead, each binned against its reference like a
feature and judged by the decision engine with one share of the same budget:

- ``<block>/pc1 .. <block>/pcK``: the row's scores on the reference's first ``K`` principal
  components, ``s_i = c_i . (x - mu)``; a shift along a direction the data varies in moves them;
- ``<block>/norm``: the vector's length ``|x|``; a rescaled or collapsed embedding moves it;
- ``<block>/reconstruction-error``: the energy outside the ``K`` components,
  ``e = |x - mu|^2 - sum_i s_i^2``; a shift along a low-variance direction (one the components
  do not span) moves it by about the squared shift.

The names are ``embedding/<block>/...``. The fit (:func:`fit_embedding`), over the training rows
whose ``d`` values are all finite:

1. the rows are split at random in two halves: the *fit* half and the *held-out* half;
2. on the fit half, ``mu`` is the mean and ``c_1 .. c_K`` the leading eigenvectors of the
   covariance, ``K = min(components, d - 1, rows - 1)``, found by subspace iteration (a few
   products of the centred ``n x d`` rows with a ``d x (K + 8)`` basis, never the ``d x d``
   covariance); the baseline stores ``mu`` and ``C`` rounded to float32;
3. the held-out rows' derived values (computed with the stored, rounded ``mu`` and ``C``) give
   each derived column's reference profile.

As for the multivariate signal (``stats.multivariate``), the held-out half is what makes the
false-alarm guarantee exact: given the stored ``mu`` and ``C``, whatever directions the iteration
found, the held-out derived values are independent draws from the distribution that live rows'
derived values follow when nothing changed.

A row with a missing or non-finite value anywhere in the block has no derived values: it counts
as missing in each derived column (the block's missing rate is judged on ``<block>/norm``).

Cost per row: ``(K + 2) d`` multiply-adds; stored: ``(K + 1) d`` float32 values (base64), plus
``K + 2`` column profiles: 2048 wide with ``K = 8`` is about 98 KB of JSON.

Keys of ``to_dict``: ``name``, ``width`` (``d``), ``mean`` and ``components`` (base64
little-endian float32, ``d`` and ``K x d`` row-major), ``explained`` (share of the fit half's
variance the ``K`` components hold), ``profiles`` (the ``K + 2`` derived columns' feature
profiles, in :attr:`EmbeddingProfile.columns` order).
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

#: Principal components kept by default, and the most a baseline may keep.
DEFAULT_COMPONENTS = 8
MAX_COMPONENTS = 64
#: Inputs wider than this many values are embedding blocks by default.
DEFAULT_MIN_WIDTH = 256
#: Fewest complete training rows for a fit (half of them fit, half are the reference).
MIN_ROWS = 100
_PREFIX = "embedding/"
_ITERATIONS = 12
_OVERSAMPLING = 8


def column_names(block: str, components: int) -> tuple[str, ...]:
    """The derived columns of ``block`` with ``components`` principal components, in order."""
    base = _PREFIX + block
    return (
        *(f"{base}/pc{i + 1}" for i in range(components)),
        f"{base}/norm",
        f"{base}/reconstruction-error",
    )


@dataclass(frozen=True)
class EmbeddingProfile:
    """The stored projection of one embedding block and its derived columns' references."""

    name: str
    width: int
    #: ``d`` float32 values.
    mean: FloatArray
    #: ``K x d`` float32 values, orthonormal rows (up to rounding).
    components: FloatArray
    explained: float
    #: One profile per derived column, in :attr:`columns` order.
    profiles: tuple[FeatureProfile, ...]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EmbeddingProfile):
            return NotImplemented
        return (
            (self.name, self.width, self.explained, self.profiles)
            == (other.name, other.width, other.explained, other.profiles)
            and bool(np.array_equal(self.mean, other.mean))
            and bool(np.array_equal(self.components, other.components))
        )

    def __hash__(self) -> int:
        return hash((self.name, self.width, self.profiles))

    @property
    def columns(self) -> tuple[str, ...]:
        return column_names(self.name, self.components.shape[0])

    def values(self, block: npt.NDArray[Any] | None, size: int) -> FloatArray:
        """The derived values of ``size`` rows, ``(K + 2) x size``, from the block's ``size x d``
        values (``None`` when the batch lacks the block); NaN for a row with a missing or
        non-finite value.

        >>> rng = np.random.default_rng(0)
        >>> rows = rng.normal(size=(2000, 300)) * np.linspace(3, 0.1, 300)
        >>> fit = fit_embedding("text", rows, components=4)
        >>> fit.columns[0], fit.columns[-1], fit.values(rows[:3], 3).shape
        ('embedding/text/pc1', 'embedding/text/reconstruction-error', (6, 3))
        """
        k = self.components.shape[0]
        if block is None:
            return np.full((k + 2, size), np.nan)
        matrix = np.asarray(block, dtype=np.float64).reshape(size, self.width)
        centred = matrix - self.mean
        scores = self.components @ centred.T  # K x size
        with np.errstate(invalid="ignore", over="ignore"):
            energy = np.einsum("ij,ij->i", centred, centred)
            norm = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
            error = np.maximum(energy - np.einsum("ij,ij->j", scores, scores), 0.0)
        out: FloatArray = np.vstack([scores, norm[None, :], error[None, :]])
        bad = ~np.isfinite(energy) | ~np.isfinite(norm)
        if bad.any():
            out[:, bad] = np.nan
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "width": self.width,
            "mean": _pack(self.mean),
            "components": _pack(self.components),
            "explained": self.explained,
            "profiles": [p.to_dict() for p in self.profiles],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EmbeddingProfile:
        try:
            name = str(data["name"])
            width = int(data["width"])
            mean = _unpack(data["mean"])
            components = _unpack(data["components"])
            profiles = tuple(FeatureProfile.from_dict(p) for p in data["profiles"])
            explained = float(data["explained"])
        except (KeyError, TypeError, ValueError) as error:
            raise BaselineError(f"malformed embedding profile: {error!r}") from error
        if width < 2 or mean.size != width or not components.size or components.size % width:
            raise BaselineError(f"embedding {name!r}: mean or components do not fit its width")
        components = components.reshape(components.size // width, width)
        if components.shape[0] > MAX_COMPONENTS:
            raise BaselineError(f"embedding {name!r}: more than {MAX_COMPONENTS} components")
        expected = column_names(name, components.shape[0])
        if tuple(p.name for p in profiles) != expected:
            raise BaselineError(f"embedding {name!r}: profiles do not fit its components")
        mean.flags.writeable = False
        components.flags.writeable = False
        return cls(name, width, mean, components, explained, profiles)


def fit_embedding(
    name: str,
    rows: npt.NDArray[Any],
    *,
    components: int = DEFAULT_COMPONENTS,
    bins: int = 10,
    sample_size: int = 1000,
    seed: int = 0,
) -> EmbeddingProfile:
    """Fit the projection of the ``n x d`` training ``rows`` of block ``name`` as the module
    docstring says; :class:`BaselineError` when fewer than :data:`MIN_ROWS` rows are complete."""
    if not 1 <= components <= MAX_COMPONENTS:
        raise BaselineError(f"embedding components must be 1 to {MAX_COMPONENTS}")
    matrix = np.asarray(rows, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        raise BaselineError(f"embedding {name!r} needs rows of two or more values")
    complete = matrix[np.isfinite(matrix).all(axis=1)]
    if complete.shape[0] < MIN_ROWS:
        raise BaselineError(
            f"embedding {name!r} has {complete.shape[0]} complete rows, {MIN_ROWS} needed"
        )
    width = matrix.shape[1]
    rng = np.random.default_rng(seed)
    order = rng.permutation(complete.shape[0])
    half = complete.shape[0] // 2
    fit, held_out = complete[order[:half]], complete[order[half:]]
    mean = fit.mean(axis=0)
    centred = fit - mean
    k = min(components, width - 1, half - 1)
    basis = _leading_directions(centred, k, rng)
    total = float(np.einsum("ij,ij->", centred, centred))
    kept = float(np.square(centred @ basis.T).sum())
    profile = EmbeddingProfile(
        name,
        width,
        _float32(mean),
        _float32(basis),
        kept / total if total > 0 else 0.0,
        (),
    )
    derived = profile.values(held_out, held_out.shape[0])
    profiles = tuple(
        profile_column(
            column,
            derived[i],
            "numeric",
            bins=bins,
            max_categories=0,
            sample_size=sample_size,
            rng=rng,
        )
        for i, column in enumerate(profile.columns)
    )
    return EmbeddingProfile(
        name, width, profile.mean, profile.components, profile.explained, profiles
    )


def blocks_of(
    columns: Mapping[str, npt.NDArray[Any]],
    *,
    min_width: int = DEFAULT_MIN_WIDTH,
    named: Sequence[str] = (),
) -> dict[str, list[str]]:
    """The embedding blocks among training ``columns``: block name -> its ``d`` column names.

    A block is a tensor's columns ``<name>-0 .. <name>-(d-1)`` (how the payload parsers and
    ``kubedrift baseline build`` name an ``[n, d]`` tensor's columns), numeric, with ``d`` above
    ``min_width``, or with any ``d >= 2`` when ``name`` is in ``named``.

    >>> import numpy as np
    >>> cols = {f"e-{j}": np.zeros(3) for j in range(4)} | {"age": np.zeros(3)}
    >>> blocks_of(cols, min_width=3), blocks_of(cols, named=["e"])["e"][-1]
    ({'e': ['e-0', 'e-1', 'e-2', 'e-3']}, 'e-3')
    """
    prefixes: dict[str, int] = {}
    for column in columns:
        head, dash, tail = column.rpartition("-")
        if dash and head and tail.isdigit() and (tail == "0" or not tail.startswith("0")):
            prefixes[head] = prefixes.get(head, 0) + 1
    blocks: dict[str, list[str]] = {}
    for prefix, count in prefixes.items():
        names = [f"{prefix}-{j}" for j in range(count)]
        if count < 2 or not all(n in columns for n in names):
            continue
        if count <= min_width and prefix not in named:
            continue
        if all(np.asarray(columns[n]).dtype.kind in "fiub" for n in names):
            blocks[prefix] = names
    return blocks


def _leading_directions(centred: FloatArray, k: int, rng: np.random.Generator) -> FloatArray:
    """``k x d`` orthonormal leading eigenvectors of ``centred.T @ centred`` (subspace
    iteration with oversampling, then Rayleigh-Ritz)."""
    width = centred.shape[1]
    size = min(k + _OVERSAMPLING, width)
    basis, _ = np.linalg.qr(rng.normal(size=(width, size)))
    for _ in range(_ITERATIONS):
        basis, _ = np.linalg.qr(centred.T @ (centred @ basis))
    projected = centred @ basis
    small = projected.T @ projected
    eigenvalues, eigenvectors = np.linalg.eigh(small)
    leading = eigenvectors[:, np.argsort(eigenvalues)[::-1][:k]]
    directions: FloatArray = (basis @ leading).T
    return directions


def _float32(values: FloatArray) -> FloatArray:
    rounded: FloatArray = np.ascontiguousarray(values, dtype=np.float32).astype(np.float64)
    rounded.flags.writeable = False
    return rounded


def _pack(values: FloatArray) -> str:
    return base64.b64encode(values.astype("<f4").tobytes()).decode("ascii")


def _unpack(text: Any) -> FloatArray:
    raw = base64.b64decode(str(text).encode("ascii"), validate=True)
    values: FloatArray = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    return values
