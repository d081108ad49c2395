"""The baseline profile: what the training data (dataset A) looked like, in a ConfigMap-sized JSON.

Build one with :func:`build_baseline` (or ``kubedrift baseline build``) from the training columns.
Per feature it keeps the type, quantile bin edges or a vocabulary with an "other" bin, the
reference bin counts, a bounded reference sample for the exact tests (KS, Wasserstein), missing
and out-of-range rates and the first two moments. It also profiles the prediction column and,
when labels are given, the task, the label classes and the reference performance.

The JSON format (``to_json``) is versioned; docs/statistics.md lists every key. Reference samples
are stored as base64 little-endian float32 so that 200 features fit in about half a MiB.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> baseline = build_baseline({"x": rng.normal(size=500), "c": np.array(["a", "b"] * 250)})
>>> baseline.feature("c").type, len(baseline.feature("x").counts)
('categorical', 10)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from kubedrift.stats.baseline_size import decode
from kubedrift.stats.binning import category_keys
from kubedrift.stats.column_profile import (
    CATEGORICAL_MAX_DISTINCT,
    FORMAT_KIND,
    FORMAT_VERSION,
    SAMPLE_BUDGET,
    BaselineError,
    FeatureProfile,
    detect_type,
    profile_column,
)
from kubedrift.stats.embedding import (
    DEFAULT_COMPONENTS,
    DEFAULT_MIN_WIDTH,
    EmbeddingProfile,
    blocks_of,
    fit_embedding,
)
from kubedrift.stats.estimation import CalibrationMap, fit_calibration
from kubedrift.stats.multivariate import MultivariateProfile, fit_multivariate
from kubedrift.stats.performance import reference_performance
from kubedrift.stats.settings import FeatureType

#: Re-exported from ``stats.column_profile``, where they live below the baseline's other parts.
__all__ = [
    "CATEGORICAL_MAX_DISTINCT",
    "FORMAT_KIND",
    "FORMAT_VERSION",
    "SAMPLE_BUDGET",
    "Baseline",
    "BaselineError",
    "FeatureProfile",
    "SegmentProfiles",
    "build_baseline",
    "detect_type",
    "profile_column",
]

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class Baseline:
    """A versioned reference profile of the training data; see the module docstring."""

    features: tuple[FeatureProfile, ...]
    rows: int
    prediction: FeatureProfile | None = None
    label: str | None = None
    task: Task | None = None
    classes: tuple[str, ...] = ()
    performance: Mapping[str, float] = field(default_factory=dict)
    version: int = FORMAT_VERSION
    #: The PCA fit of the numeric features and its reconstruction error's reference (``None``:
    #: no multivariate signal); see ``kubedrift.stats.multivariate``.
    multivariate: MultivariateProfile | None = None
    #: Calibration maps of the model's class probabilities (``stats.estimation``), fitted on the
    #: training rows' probabilities and labels; ``None`` when no probabilities were given.
    calibration: CalibrationMap | None = None
    #: The embedding blocks' projections and their derived columns' references
    #: (``kubedrift.stats.embedding``).
    embeddings: tuple[EmbeddingProfile, ...] = ()

    @property
    def derived(self) -> tuple[FeatureProfile, ...]:
        """The columns computed from the features, judged between the features and the
        prediction in windows, tallies and the engine: the multivariate reconstruction error,
        then each embedding block's derived columns."""
        profiles: list[FeatureProfile] = []
        if self.multivariate is not None:
            profiles.append(self.multivariate.profile)
        for block in self.embeddings:
            profiles.extend(block.profiles)
        return tuple(profiles)

    #: Reference profiles of the rows of each segment (``stats.segments``), or ``None``.
    segments: SegmentProfiles | None = None

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(profile.name for profile in self.features)

    def feature(self, name: str) -> FeatureProfile:
        return self._by_name[name]

    @cached_property
    def _by_name(self) -> dict[str, FeatureProfile]:
        return {profile.name: profile for profile in self.features}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": FORMAT_KIND,
            "version": self.version,
            "rows": self.rows,
            "features": [profile.to_dict() for profile in self.features],
            "prediction": self.prediction.to_dict() if self.prediction else None,
            "label": self.label,
            "task": self.task,
            "classes": list(self.classes),
            "performance": dict(self.performance),
        }
        if self.calibration:
            data["calibration"] = self.calibration.to_dict()
        if self.multivariate is not None:
            data["multivariate"] = self.multivariate.to_dict()
        if self.embeddings:
            data["embeddings"] = [block.to_dict() for block in self.embeddings]
        if self.segments is not None:
            data["segments"] = self.segments.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Baseline:

        if not isinstance(data, Mapping) or data.get("kind") != FORMAT_KIND:
            raise BaselineError(f"not a kubedrift baseline (expected kind {FORMAT_KIND!r})")
        version = data.get("version")
        if version != FORMAT_VERSION:
            raise BaselineError(
                f"unsupported baseline version {version!r} "
                f"(this kubedrift reads version {FORMAT_VERSION})"
            )
        task = data.get("task")
        if task not in (None, "classification", "regression"):
            raise BaselineError(f"unknown task {task!r}")
        prediction = data.get("prediction")
        try:
            return cls(
                features=tuple(FeatureProfile.from_dict(f) for f in data["features"]),
                rows=int(data["rows"]),
                prediction=FeatureProfile.from_dict(prediction) if prediction else None,
                label=data.get("label"),
                task=task,
                classes=tuple(str(c) for c in data.get("classes", ())),
                performance={str(k): float(v) for k, v in data.get("performance", {}).items()},
                multivariate=(
                    MultivariateProfile.from_dict(data["multivariate"])
                    if data.get("multivariate")
                    else None
                ),
                calibration=(
                    CalibrationMap.from_dict(data["calibration"])
                    if data.get("calibration")
                    else None
                ),
                embeddings=tuple(
                    EmbeddingProfile.from_dict(block) for block in data.get("embeddings", ())
                ),
                segments=(
                    SegmentProfiles.from_dict(data["segments"]) if data.get("segments") else None
                ),
            )
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, BaselineError):
                raise
            raise BaselineError(f"malformed baseline: {error!r}") from error

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> Baseline:
        """Read :meth:`to_json` output, plain or compressed (``stats.baseline_size``)."""

        try:
            data = json.loads(decode(text))
        except json.JSONDecodeError as error:
            raise BaselineError(f"baseline is not valid JSON: {error}") from error
        return cls.from_dict(data)


@dataclass(frozen=True)
class SegmentProfiles:
    """Per-segment reference profiles: the training rows whose categorical ``feature`` has
    each of ``values``, profiled on their own (``baselines``, one per value, in that order,
    without the segment feature itself). Built by ``stats.segments.segment_baseline``."""

    feature: str
    values: tuple[str, ...]
    baselines: tuple[Baseline, ...]

    def baseline(self, value: str) -> Baseline | None:
        return dict(zip(self.values, self.baselines, strict=True)).get(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "values": list(self.values),
            "baselines": [baseline.to_dict() for baseline in self.baselines],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SegmentProfiles:
        values = tuple(str(v) for v in data["values"])
        baselines = tuple(Baseline.from_dict(b) for b in data["baselines"])
        if len(values) != len(baselines) or len(set(values)) != len(values):
            raise BaselineError("malformed baseline: segments need one profile per value")
        return cls(str(data["feature"]), values, baselines)


def build_baseline(
    columns: Mapping[str, npt.NDArray[Any]],
    *,
    features: Sequence[str] | None = None,
    categorical: Iterable[str] = (),
    numeric: Iterable[str] = (),
    prediction: str | None = None,
    label: str | None = None,
    bins: int = 10,
    max_categories: int = 50,
    sample_size: int | None = None,
    seed: int = 0,
    multivariate: bool = True,
    probabilities: Sequence[str] = (),
    embedding_width: int = DEFAULT_MIN_WIDTH,
    embeddings: Sequence[str] = (),
    embedding_components: int = DEFAULT_COMPONENTS,
) -> Baseline:
    """Profile training ``columns`` (name -> 1-D array) into a :class:`Baseline`.

    ``features`` defaults to every column except ``prediction`` and ``label``. Types are detected
    (numeric dtype -> numeric, unless all values are integers with at most
    ``CATEGORICAL_MAX_DISTINCT`` distinct values; anything else -> categorical) unless a column is
    named in ``categorical`` or ``numeric``. ``sample_size`` defaults to ``SAMPLE_BUDGET`` spread
    over the numeric features, between 100 and 1000 values each. ``probabilities`` names the
    columns holding the model's class probabilities, one per class in the order of the sorted
    label classes (scikit-learn's ``predict_proba``), or one column for a binary model (the
    second class's probability); with a ``label`` they fit the calibration maps that performance
    is estimated with (``stats.estimation``). With ``multivariate`` and two
    or more numeric features, the baseline also stores the PCA fit of the multivariate signal
    (``kubedrift.stats.multivariate``).

    Embedding blocks (``kubedrift.stats.embedding``) are profiled through a projection of
    ``embedding_components`` principal components, not column by column: a 2-D column
    (``n x d``), and the columns ``<name>-0 .. <name>-(d-1)`` of a tensor wider than
    ``embedding_width`` or named in ``embeddings``. Their columns are not features and take no
    part in the multivariate fit.
    """
    columns, blocks = _split_blocks(columns, embedding_width, embeddings, (prediction, label))
    names = (
        [name for name in features if name not in blocks]
        if features is not None
        else [name for name in columns if name not in (prediction, label)]
    )
    if features is not None:
        blocks = {name: rows for name, rows in blocks.items() if name in features}
    for name in [*names, prediction, label]:
        if name is not None and name not in columns:
            raise BaselineError(f"column {name!r} is not in the data")
    if not names and not blocks:
        raise BaselineError("no feature columns to profile")
    rows = {len(np.asarray(columns[name])) for name in columns} | {len(b) for b in blocks.values()}
    if len(rows) != 1:
        raise BaselineError("columns have different lengths")
    n_rows = rows.pop()
    if n_rows == 0:
        raise BaselineError("the training data has no rows")
    forced = {name: "categorical" for name in categorical} | {name: "numeric" for name in numeric}
    types = {name: forced.get(name) or detect_type(np.asarray(columns[name])) for name in names}
    n_numeric = sum(1 for kind in types.values() if kind == "numeric")
    size = sample_size or min(1000, max(100, SAMPLE_BUDGET // max(n_numeric, 1)))
    rng = np.random.default_rng(seed)
    profiles = tuple(
        profile_column(
            name,
            np.asarray(columns[name]),
            types[name],  # type: ignore[arg-type]
            bins=bins,
            max_categories=max_categories,
            sample_size=size,
            rng=rng,
        )
        for name in names
    )
    prediction_profile = None
    if prediction is not None:
        values = np.asarray(columns[prediction])
        kind: FeatureType = forced.get(prediction) or detect_type(values)  # type: ignore[assignment]
        prediction_profile = profile_column(
            prediction,
            values,
            kind,
            bins=bins,
            max_categories=max_categories,
            sample_size=size,
            rng=rng,
        )
    task, classes, performance = _label_profile(columns, prediction_profile, label, max_categories)
    fit = None
    numeric_names = [p.name for p in profiles if p.type == "numeric"]
    if multivariate and len(numeric_names) >= 2:
        fit = fit_multivariate(columns, numeric_names, bins=bins, sample_size=size, seed=seed)
    calibration = None
    if probabilities:
        calibration = _calibration(columns, probabilities, label, task, classes)
    fitted = tuple(
        fit_embedding(
            name,
            block,
            components=embedding_components,
            bins=bins,
            sample_size=size,
            seed=seed,
        )
        for name, block in blocks.items()
    )
    return Baseline(
        features=profiles,
        rows=n_rows,
        prediction=prediction_profile,
        label=label,
        task=task,
        classes=classes,
        performance=performance,
        multivariate=fit,
        calibration=calibration,
        embeddings=fitted,
    )


def _split_blocks(
    columns: Mapping[str, npt.NDArray[Any]],
    min_width: int,
    named: Sequence[str],
    reserved: tuple[str | None, ...],
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, npt.NDArray[Any]]]:
    """``columns`` without the embedding blocks' columns, and the blocks as ``n x d`` arrays."""
    plain = {name: values for name, values in columns.items() if np.ndim(values) < 2}
    blocks = {
        name: np.asarray(values, dtype=np.float64)
        for name, values in columns.items()
        if np.ndim(values) >= 2 and name not in reserved
    }
    candidates = {name: values for name, values in plain.items() if name not in reserved}
    for block, names in blocks_of(candidates, min_width=min_width, named=named).items():
        if block in plain or block in blocks:
            raise BaselineError(f"embedding {block!r} is also the name of a column")
        blocks[block] = np.column_stack([np.asarray(plain.pop(n), np.float64) for n in names])
    return plain, blocks


def _calibration(
    columns: Mapping[str, npt.NDArray[Any]],
    names: Sequence[str],
    label: str | None,
    task: Task | None,
    classes: tuple[str, ...],
) -> CalibrationMap:
    if label is None or task != "classification":
        raise BaselineError("class probabilities need a classification label (--label)")
    missing = [name for name in names if name not in columns]
    if missing:
        raise BaselineError(f"probability column(s) {', '.join(missing)} not in the data")
    expected = (1, 2) if len(classes) == 2 else (len(classes),)
    if len(names) not in expected:
        raise BaselineError(
            f"{len(classes)} classes need {' or '.join(map(str, expected))} probability "
            f"column(s), got {len(names)}"
        )
    matrix = np.stack([np.asarray(columns[name], dtype=np.float64) for name in names], axis=1)
    keys = category_keys(np.asarray(columns[label]))
    keep = np.isfinite(matrix).all(axis=1) & (keys != None)  # noqa: E711 - an object array
    fitted = fit_calibration(matrix[keep], keys[keep].astype(str), classes)
    return replace(fitted, columns=tuple(names))


def _label_profile(
    columns: Mapping[str, npt.NDArray[Any]],
    prediction: FeatureProfile | None,
    label: str | None,
    max_categories: int,
) -> tuple[Task | None, tuple[str, ...], dict[str, float]]:
    if label is None:
        task: Task | None = None
        if prediction is not None:
            task = "classification" if prediction.type == "categorical" else "regression"
        vocabulary = prediction.vocabulary if prediction and task == "classification" else ()
        return task, vocabulary, {}
    labels = np.asarray(columns[label])
    task = "classification" if detect_type(labels) == "categorical" else "regression"
    classes: tuple[str, ...] = ()
    if task == "classification":
        keys = category_keys(labels)
        distinct, counts = np.unique(keys[keys != None].astype(str), return_counts=True)  # noqa: E711
        order = np.lexsort((distinct, -counts))[:max_categories]
        classes = tuple(sorted(str(v) for v in distinct[order]))
    if prediction is None:
        return task, classes, {}
    predictions = np.asarray(columns[prediction.name])
    return task, classes, reference_performance(task, predictions, labels, classes)
