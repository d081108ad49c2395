"""Segments: drift and performance of the rows that share one value of a categorical feature.

A model can hold up on average while failing for one country, one device, one customer tier.
``spec.segments`` names a categorical feature; each of its chosen values is a **segment**, a
slice of traffic with its own reference (the training rows with that value, profiled on their
own: :func:`segment_baseline`), its own windows and cumulative tallies (the sidecar splits
every batch by the value, :func:`split_rows`) and its own engine (``stats.engine``), so a
change confined to one segment is found in that segment, against that segment's reference,
without the other segments' traffic diluting it.

Bounds, so that status, metrics and the sidecar's memory stay small whatever the traffic:

- a baseline profiles at most :data:`MAX_SEGMENTS` values of the feature (the most frequent
  training values with at least :data:`MIN_SEGMENT_ROWS` rows, or an explicit list), and a
  monitor judges at most as many (``spec.segments.top`` or ``spec.segments.values``): the
  ``segment`` label of the metrics takes at most that many values, all of them training values
  chosen when the baseline was built, never a value first seen in traffic;
- rows whose value is not a profiled segment (rare values, values unseen in training, missing
  values) are **not segmented**: they count in the monitor's own signals only. A catch-all
  "other" segment would mix rare values whose shares move with the traffic mix, so it would
  alarm on the mix rather than on the model's inputs.

The false-alarm budget (``docs/statistics.md``, "Segments"): with ``S`` segments judged, the
monitor's own engine runs at ``2 T`` and each segment's engine at ``2 S T``
(:func:`split_contract`), so the monitor's conditions and every segment's alarm together still
raise at most one false alarm per ``T`` on average.

>>> from kubedrift.stats.baseline import build_baseline
>>> rng = np.random.default_rng(0)
>>> columns = {"x": rng.normal(size=3000), "country": rng.choice(["de", "fr", "it"], 3000)}
>>> baseline = segment_baseline(build_baseline(columns), columns, "country", top=2)
>>> baseline.segments.values, baseline.segments.baselines[0].feature_names
(('it', 'de'), ('x',))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from kubedrift.stats.baseline import Baseline, BaselineError, SegmentProfiles, build_baseline
from kubedrift.stats.binning import category_keys
from kubedrift.stats.engine.contract import Contract
from kubedrift.stats.settings import WindowSettings

#: Hard cap on the segments of a baseline and of a monitor (the ``segment`` label's values).
MAX_SEGMENTS = 20
#: Default number of segments profiled by ``kubedrift baseline build --segment``.
DEFAULT_TOP = 10
#: Training rows a value needs to be profiled as a segment (a reference of fewer rows tells
#: too little: the engine's confidence sets would hide any change).
MIN_SEGMENT_ROWS = 100
#: Reservoir of raw values per numeric column in a segment's windows: nothing reads it (the
#: engine reads the bin counts only), so a segment keeps the one value a reservoir needs room
#: for (the sidecar's memory, ``/v1/window``'s size and the operator's merge of it every round;
#: it was 100 before the evaluation-time bench, ``bench/evaluation_signals.py``).
SEGMENT_RESERVOIR = 1


def segment_baseline(
    baseline: Baseline,
    columns: Mapping[str, npt.NDArray[Any]],
    feature: str,
    *,
    top: int = DEFAULT_TOP,
    values: Sequence[str] | None = None,
    seed: int = 0,
    multivariate: bool = True,
) -> Baseline:
    """``baseline`` with per-segment profiles of the categorical ``feature`` (its ``top`` most
    frequent values with at least :data:`MIN_SEGMENT_ROWS` training rows, ties by name; or the
    explicit ``values``, each of which must have that many rows). Each segment's profile is
    built from its rows with the parent's feature types, prediction and label, without
    ``feature``; the numeric reference samples share the parent's budget."""
    if feature not in baseline.feature_names:
        raise BaselineError(f"segment feature {feature!r} is not a feature of the baseline")
    if baseline.feature(feature).type != "categorical":
        raise BaselineError(f"segment feature {feature!r} must be categorical")
    if not 1 <= top <= MAX_SEGMENTS:
        raise BaselineError(f"segments: top must be between 1 and {MAX_SEGMENTS}")
    keys = category_keys(np.asarray(columns[feature]))
    present = keys[keys != None].astype(str)  # noqa: E711 - an object array
    distinct, counts = np.unique(present, return_counts=True)
    rows = dict(zip(distinct.tolist(), counts.tolist(), strict=True))
    if values is not None:
        chosen = [str(v) for v in dict.fromkeys(values)]
        if len(chosen) > MAX_SEGMENTS:
            raise BaselineError(f"segments: at most {MAX_SEGMENTS} values, got {len(chosen)}")
        few = [v for v in chosen if rows.get(v, 0) < MIN_SEGMENT_ROWS]
        if few:
            raise BaselineError(
                f"segment value(s) {', '.join(few)} of {feature!r} have fewer than "
                f"{MIN_SEGMENT_ROWS} training rows"
            )
    else:
        order = sorted(rows, key=lambda v: (-rows[v], v))
        chosen = [v for v in order if rows[v] >= MIN_SEGMENT_ROWS][:top]
    names = [name for name in baseline.feature_names if name != feature]
    if not names:
        raise BaselineError("segments need at least one feature besides the segment feature")
    types = {p.name: p.type for p in baseline.features}
    numeric = [n for n in names if types[n] == "numeric"]
    categorical = [n for n in names if types[n] == "categorical"]
    prediction = baseline.prediction
    if prediction is not None:
        (categorical if prediction.type == "categorical" else numeric).append(prediction.name)
    share = max(len(chosen), 1)
    sample = max((len(p.sample) for p in baseline.features if p.type == "numeric"), default=0)
    profiles = []
    for index, value in enumerate(chosen):
        mask = keys == value
        subset = {name: np.asarray(data)[mask] for name, data in columns.items()}
        profiles.append(
            build_baseline(
                subset,
                features=names,
                categorical=categorical,
                numeric=numeric,
                prediction=prediction.name if prediction is not None else None,
                label=baseline.label,
                sample_size=max(100, sample // share) if sample else None,
                seed=seed + index + 1,
                multivariate=multivariate and baseline.multivariate is not None,
            )
        )
    return replace(baseline, segments=SegmentProfiles(feature, tuple(chosen), tuple(profiles)))


def segment_references(baseline: Baseline) -> Mapping[str, Baseline]:
    """The reference of each profiled segment's windows, by value: its profile, with the
    monitor's calibration maps when the profile has none, so that a segment's windows keep what
    performance estimated without labels needs (``stats.estimation``). The model is one, so is
    its calibration: fitted on all training rows and applied to each segment's probabilities, as
    CBPE applies one calibrator to every chunk. The segment's engine is built on the plain
    profile (``stats.engine.segmented``): the estimate is reported per segment, not judged."""
    found = _REFERENCES.get(id(baseline))
    if found is not None and found[0] is baseline:
        return found[1]
    references = _segment_references(baseline)
    _REFERENCES[id(baseline)] = (baseline, references)
    while len(_REFERENCES) > REFERENCES_KEPT:
        del _REFERENCES[next(iter(_REFERENCES))]
    return references


#: :func:`segment_references` of the baselines used last, by identity (the entry holds its
#: baseline, so an id is not reused while it is kept): the same objects every round, so that
#: what is built per reference (a window plan) is built once.
_REFERENCES: dict[int, tuple[Baseline, Mapping[str, Baseline]]] = {}
REFERENCES_KEPT = 256


def _segment_references(baseline: Baseline) -> dict[str, Baseline]:
    profiles = baseline.segments
    if profiles is None:
        return {}
    calibration = baseline.calibration
    return {
        value: reference
        if calibration is None or reference.calibration is not None
        else replace(reference, calibration=calibration)
        for value, reference in zip(profiles.values, profiles.baselines, strict=True)
    }


def segment_masks(
    segments: SegmentProfiles, rows: Mapping[str, npt.NDArray[Any]]
) -> dict[str, npt.NDArray[np.bool_]]:
    """Which rows of a batch belong to each segment that has some in it."""
    if segments.feature not in rows:
        return {}
    keys = category_keys(np.asarray(rows[segments.feature]))
    masks = {value: keys == value for value in segments.values}
    return {value: mask for value, mask in masks.items() if mask.any()}


def split_probabilities(
    segments: SegmentProfiles,
    rows: Mapping[str, npt.NDArray[Any]],
    probabilities: npt.ArrayLike,
) -> dict[str, npt.NDArray[np.float64]]:
    """The class probabilities (``[rows, classes]``) of each segment's rows; empty unless there
    is one probability row per row of the batch (exchanges without probabilities leave the rows
    unaligned, and then no segment gets any)."""
    scores = np.asarray(probabilities, dtype=np.float64)
    size = len(next(iter(rows.values()))) if rows else 0
    if scores.ndim == 0 or scores.shape[0] != size or size == 0:
        return {}
    return {value: scores[mask] for value, mask in segment_masks(segments, rows).items()}


def split_rows(
    segments: SegmentProfiles,
    rows: Mapping[str, npt.NDArray[Any]],
    predictions: npt.NDArray[Any] | None = None,
    labels: npt.NDArray[Any] | None = None,
) -> dict[
    str, tuple[dict[str, npt.NDArray[Any]], npt.NDArray[Any] | None, npt.NDArray[Any] | None]
]:
    """The rows (without the segment feature), predictions and labels of each segment that
    has some in this batch; rows of other values or without the feature are not segmented."""
    result = {}
    for value, mask in segment_masks(segments, rows).items():
        result[value] = (
            # embedding blocks (2-D) are judged by the monitor only (``stats.embedding``)
            {
                n: np.asarray(v)[mask]
                for n, v in rows.items()
                if n != segments.feature and np.ndim(v) == 1
            },
            None if predictions is None else np.asarray(predictions)[mask],
            None if labels is None else np.asarray(labels)[mask],
        )
    return result


def segment_window_settings(settings: WindowSettings) -> WindowSettings:
    """A segment's windows: the monitor's, with a small reservoir and a labeled-row sample of
    one row (a reservoir needs room for one; the retraining dataset comes from the monitor's
    own windows)."""
    return replace(
        settings, reservoir_size=min(settings.reservoir_size, SEGMENT_RESERVOIR), labeled_capacity=1
    )


@dataclass(frozen=True)
class SegmentSelection:
    """``spec.segments``: which profiled values of ``feature`` a monitor judges: the
    ``top`` most frequent in training, or the listed ``values``."""

    feature: str
    top: int = 5
    values: tuple[str, ...] = ()

    def chosen(self, baseline: Baseline) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(judged, missing): the values judged, in the baseline's order or the listed one,
        and the listed values the baseline holds no profile for (reported, not judged)."""
        profiles = baseline.segments
        known = profiles.values if profiles and profiles.feature == self.feature else ()
        if self.values:
            listed = tuple(dict.fromkeys(self.values))[:MAX_SEGMENTS]
            return (
                tuple(v for v in listed if v in known),
                tuple(v for v in listed if v not in known),
            )
        return known[: min(self.top, MAX_SEGMENTS)], ()


def split_contract(contract: Contract, segments: int) -> tuple[Contract, Contract]:
    """(monitor, each segment): half the false-alarm budget for the monitor's own engine,
    half shared evenly by the ``segments`` segment engines; see the module docstring."""
    mean_time = contract.mean_time_between_false_alarms
    monitor = replace(contract, mean_time_between_false_alarms=2 * mean_time)
    each = replace(contract, mean_time_between_false_alarms=2 * max(segments, 1) * mean_time)
    return monitor, each
