"""One column of a baseline: its :class:`FeatureProfile`, how a raw column is profiled, and the
format constants every part of the baseline shares.

:mod:`kubedrift.stats.baseline` assembles the profiles into a :class:`~kubedrift.stats.baseline.
Baseline`; the parts it stores next to them (``stats.multivariate``'s fit, ``stats.
baseline_size``'s compressed envelope) need a column's profile too, so it lives here, below all
three, and ``stats.baseline`` re-exports its names.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kubedrift.stats.binning import (
    FloatArray,
    categorical_bin_counts,
    category_keys,
    numeric_bin_counts,
    quantile_edges,
)
from kubedrift.stats.settings import FeatureType

#: Version of the JSON format written by :meth:`Baseline.to_dict`.
FORMAT_VERSION = 1
FORMAT_KIND = "kubedrift.io/baseline"
#: A numeric column whose values are all integers with at most this many distinct values is
#: profiled as categorical (flags, counts of a few, class labels).
CATEGORICAL_MAX_DISTINCT = 10
#: Total reference-sample values across numeric features; keeps 200 features near 0.5 MiB.
SAMPLE_BUDGET = 80_000


class BaselineError(ValueError):
    """The training data or a stored baseline cannot be profiled or read."""


@dataclass(frozen=True)
class FeatureProfile:
    """The reference distribution of one column.

    ``counts`` has one entry per bin: ``len(edges) + 1`` for numeric features, ``len(vocabulary)
    + 1`` for categorical ones (the last is "other"). ``sample`` is a uniform sample of the
    non-missing numeric values (empty for categorical features, whose counts say everything).
    """

    name: str
    type: FeatureType
    count: int
    missing: int
    counts: tuple[int, ...]
    edges: tuple[float, ...] = ()
    vocabulary: tuple[str, ...] = ()
    sample: tuple[float, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    mean: float | None = None
    std: float | None = None

    @property
    def present(self) -> int:
        return self.count - self.missing

    @property
    def missing_rate(self) -> float:
        return self.missing / self.count if self.count else 0.0

    @property
    def out_of_range_rate(self) -> float:
        """Share of present training values outside the profile: 0 for numeric features by
        construction, the "other" bin's share for categorical ones."""
        if self.type == "numeric" or not self.present:
            return 0.0
        return self.counts[-1] / self.present

    def probabilities(self) -> FloatArray:
        counts = np.asarray(self.counts, dtype=np.float64)
        total = counts.sum()
        return counts / total if total else counts

    def sample_array(self) -> FloatArray:
        return np.asarray(self.sample, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "count": self.count,
            "missing": self.missing,
            "counts": list(self.counts),
        }
        if self.type == "numeric":
            data["edges"] = list(self.edges)
            data["sample"] = _encode_floats(self.sample)
            data.update(min=self.minimum, max=self.maximum, mean=self.mean, std=self.std)
        else:
            data["vocabulary"] = list(self.vocabulary)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureProfile:
        try:
            kind = data["type"]
            if kind not in ("numeric", "categorical"):
                raise BaselineError(f"feature {data.get('name')!r}: unknown type {kind!r}")
            profile = cls(
                name=str(data["name"]),
                type=kind,
                count=int(data["count"]),
                missing=int(data["missing"]),
                counts=tuple(int(c) for c in data["counts"]),
                edges=tuple(float(e) for e in data.get("edges", ())),
                vocabulary=tuple(str(v) for v in data.get("vocabulary", ())),
                sample=_decode_floats(data.get("sample", "")),
                minimum=_optional_float(data.get("min")),
                maximum=_optional_float(data.get("max")),
                mean=_optional_float(data.get("mean")),
                std=_optional_float(data.get("std")),
            )
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, BaselineError):
                raise
            raise BaselineError(f"malformed feature profile: {error!r}") from error
        expected = len(profile.edges) + 1 if kind == "numeric" else len(profile.vocabulary) + 1
        if len(profile.counts) != expected:
            raise BaselineError(
                f"feature {profile.name!r}: {len(profile.counts)} counts, expected {expected}"
            )
        return profile


def detect_type(values: npt.NDArray[Any]) -> FeatureType:
    """``numeric`` or ``categorical`` for a raw column; see :func:`build_baseline`."""
    if values.dtype.kind == "b":
        return "categorical"
    if values.dtype.kind not in "fiu":
        return "categorical"
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    integral = finite.size > 0 and bool(np.all(finite == np.round(finite)))
    if integral and np.unique(finite).size <= CATEGORICAL_MAX_DISTINCT:
        return "categorical"
    return "numeric"


def profile_column(
    name: str,
    values: npt.NDArray[Any],
    kind: FeatureType,
    *,
    bins: int,
    max_categories: int,
    sample_size: int,
    rng: np.random.Generator,
) -> FeatureProfile:
    """One column's :class:`FeatureProfile`."""
    if kind == "categorical":
        keys = category_keys(values)
        present = keys[keys != None].astype(str)  # noqa: E711
        distinct, counts = np.unique(present, return_counts=True)
        order = np.lexsort((distinct, -counts))[:max_categories]
        vocabulary = tuple(str(v) for v in distinct[order])
        return FeatureProfile(
            name=name,
            type="categorical",
            count=len(keys),
            missing=len(keys) - len(present),
            counts=tuple(categorical_bin_counts(keys, vocabulary).tolist()),
            vocabulary=vocabulary,
        )
    if values.dtype.kind not in "fiub":
        raise BaselineError(f"column {name!r} is declared numeric but holds non-numbers")
    numbers = values.astype(np.float64)
    present = numbers[~np.isnan(numbers)]
    if np.isinf(present).any():
        raise BaselineError(f"column {name!r} holds infinite values")
    edges = quantile_edges(present, bins)
    sample = (
        present if present.size <= sample_size else rng.choice(present, sample_size, replace=False)
    )
    stored = np.sort(sample).astype(np.float32).astype(np.float64)
    return FeatureProfile(
        name=name,
        type="numeric",
        count=len(numbers),
        missing=len(numbers) - len(present),
        counts=tuple(numeric_bin_counts(present, edges).tolist()),
        edges=tuple(edges.tolist()),
        sample=tuple(stored.tolist()),
        minimum=float(present.min()) if present.size else None,
        maximum=float(present.max()) if present.size else None,
        mean=float(present.mean()) if present.size else None,
        std=float(present.std()) if present.size else None,
    )


def _encode_floats(values: Sequence[float]) -> str:
    return base64.b64encode(np.asarray(values, dtype="<f4").tobytes()).decode("ascii")


def _decode_floats(text: str) -> tuple[float, ...]:
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    return tuple(np.frombuffer(raw, dtype="<f4").astype(np.float64).tolist())


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
