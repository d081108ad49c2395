"""Performance estimated without labels: confidence-based performance estimation (CBPE).

A classifier whose responses carry class probabilities predicts its own accuracy, provided the
probabilities are calibrated: if a row's probability of class ``j`` is ``P_j``, the row's label is
``j`` with probability ``P_j``, so every cell of the confusion matrix has a known expectation
before any label arrives. Raw model scores are seldom calibrated; a :class:`CalibrationMap`
fitted on the reference (the training rows, their scores and their labels) makes them so, and
stays valid under a *covariate* shift (the inputs move, ``P(label | score)`` does not), the shift
this estimate is for. It cannot see concept drift (``P(label | score)`` changing): only labels can.

**Calibration map** (per class, one-vs-rest): the reference scores are cut into at most
:data:`CALIBRATION_BINS` equal-frequency bins, the label share of each bin is made monotone by
pool-adjacent-violators (isotonic regression on the binned scores), and adjacent bins with the
same pooled value are merged. What is stored per class is a step function: ``edges`` (the
scores where a step ends), ``values`` (calibrated probability of each step) and ``counts``
(reference rows behind each step, for the band). Binary classifiers have one map, on the
positive class's score; for more classes the calibrated scores of a row are normalized to sum
to one.

**The sketch** (:class:`EstimationSketch`, mergeable: every field adds up across replicas and
windows, and subtracts for increments) keeps, with ``K`` classes, ``P`` the calibrated
probabilities of a row and ``k`` its predicted class (the argmax of the raw scores; the positive
class when its score is at least 0.5 for a binary model):

- ``expected[j, k] = sum over rows predicted k of P_j``: the expected confusion matrix (labels
  in rows, predictions in columns, like ``LabeledSketch``);
- ``variance[j, k] = sum over rows predicted k of P_j (1 - P_j)``: the variance of each cell
  given the probabilities (a sum of independent Bernoulli variables);
- ``steps[k, b]``: rows predicted ``k`` (binary: every row) whose score fell in step ``b`` of the
  map used for their correctness, for the calibration part of the band;
- ``score_counts[k, g]`` and ``score_positives[k, g]``: per class, the rows whose raw score for
  ``k`` lies in grid cell ``g`` of :data:`SCORE_GRID` cells over [0, 1], and the sum of their
  calibrated ``P_k`` (expected positives), from which ROC AUC is estimated.

**Estimates** (:func:`estimate`): accuracy ``trace(expected) / n``; per class precision
``E[TP] / predicted``, recall ``E[TP] / (E[TP] + E[FN])``, F1 ``2 E[TP] / (2 E[TP] + E[FP] +
E[FN])`` (the binary model's positive class; macro averages for more classes); ROC AUC from the
score grid as the probability that an expected positive outscores an expected negative (ties
count a half; one-vs-rest macro average for more classes). Each comes with a band at
``confidence``: ``estimate ± z sd``, where ``sd`` is the delta-method standard deviation of the
metric over the label draw given the probabilities (the ``variance`` sums), and for accuracy
also the calibration map's own error, ``sum over steps of (rows in the step / n)^2 (y (1 - y) +
1/(4 m)) / m`` for a step of value ``y`` fitted on ``m`` reference rows (the step's binomial
error, with a floor for steps of value 0 or 1). AUC uses Hanley and McNeil's (1982) standard
error at the expected numbers of positives and negatives.

>>> rng = np.random.default_rng(7)
>>> truth = rng.uniform(size=20_000)                  # the true probability of class "1"
>>> scores = truth**2                                 # a model whose scores are not calibrated
>>> labels = np.where(rng.uniform(size=truth.size) < truth, "1", "0")
>>> calibration = fit_calibration(scores[:, None], labels, ("0", "1"))
>>> sketch = EstimationSketch.empty(calibration)
>>> live = rng.uniform(0.5, 1.0, size=5_000)          # covariate shift: easier rows
>>> sketch.add_scores(calibration, live[:, None] ** 2)
>>> result = estimate(sketch, calibration)["accuracy"]
>>> realized = np.mean((rng.uniform(size=live.size) < live) == (live**2 >= 0.5))
>>> round(result.value, 3), bool(result.lower <= realized <= result.upper)
(0.662, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kubedrift.stats.binning import FloatArray, IntArray
from kubedrift.stats.distributions import normal_quantile

#: Equal-frequency bins of the reference scores before isotonic pooling (steps per class map).
CALIBRATION_BINS = 50
#: Cells of the raw-score grid that ROC AUC is estimated on.
SCORE_GRID = 100
#: The metrics :func:`estimate` returns.
ESTIMATED_METRICS = ("accuracy", "precision", "recall", "f1", "roc-auc")


@dataclass(frozen=True)
class StepMap:
    """A monotone step function: ``values[b]`` for scores in step ``b`` (``edges[b - 1] <
    score <= edges[b]``), fitted on ``counts[b]`` reference rows."""

    edges: tuple[float, ...]
    values: tuple[float, ...]
    counts: tuple[int, ...]

    def step(self, scores: FloatArray) -> IntArray:
        index: IntArray = np.searchsorted(np.asarray(self.edges), scores, side="left").astype(
            np.int64
        )
        return index

    def __call__(self, scores: FloatArray) -> FloatArray:
        result: FloatArray = np.asarray(self.values)[self.step(scores)]
        return result

    def to_dict(self) -> dict[str, Any]:
        return {"edges": list(self.edges), "values": list(self.values), "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepMap:
        edges = tuple(float(e) for e in data["edges"])
        values = tuple(float(v) for v in data["values"])
        counts = tuple(int(c) for c in data["counts"])
        if len(values) != len(edges) + 1 or len(counts) != len(values):
            raise ValueError("a calibration step map needs one more value than edges")
        return cls(edges, values, counts)


@dataclass(frozen=True)
class CalibrationMap:
    """Per-class step maps from raw scores to calibrated probabilities; see the module
    docstring. ``classes`` are the label classes in score-column order; a binary model has one
    map, for ``classes[1]``."""

    classes: tuple[str, ...]
    maps: tuple[StepMap, ...]
    #: Reference accuracy of the predictions (argmax of the scores) and the rows it is over.
    reference_accuracy: float
    reference_rows: int
    #: The training data's probability columns the maps were fitted on (``kubedrift backtest``
    #: reads the same columns from a stream); empty when not known.
    columns: tuple[str, ...] = ()

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2

    @property
    def widest(self) -> int:
        return max(len(m.values) for m in self.maps)

    def scores(self, probabilities: npt.ArrayLike) -> FloatArray:
        """The raw score matrix ``[n, K]`` (or ``[n, 1]`` for a binary model's positive class)
        in the shape the maps take: ``[n, 1]`` binary, ``[n, K]`` otherwise."""
        matrix = np.asarray(probabilities, dtype=np.float64)
        if matrix.ndim == 1:
            matrix = matrix[:, None]
        if matrix.ndim != 2:
            raise ValueError("probabilities must be a matrix [rows, classes]")
        if self.binary:
            if matrix.shape[1] not in (1, 2):
                raise ValueError(
                    f"a binary model's probabilities have 1 or 2 columns, not {matrix.shape[1]}"
                )
            result: FloatArray = matrix[:, -1:]
            return result
        if matrix.shape[1] != len(self.classes):
            raise ValueError(
                f"expected {len(self.classes)} probability columns (one per class), "
                f"got {matrix.shape[1]}"
            )
        return matrix

    def predicted(self, scores: FloatArray) -> IntArray:
        """Predicted class index of each row: the argmax (binary: score >= 0.5)."""
        if self.binary:
            result: IntArray = (scores[:, 0] >= 0.5).astype(np.int64)
            return result
        picked: IntArray = np.argmax(scores, axis=1).astype(np.int64)
        return picked

    def calibrated(self, scores: FloatArray) -> FloatArray:
        """Calibrated probabilities ``[n, K]`` (rows sum to one)."""
        if self.binary:
            positive = self.maps[0](scores[:, 0])
            result: FloatArray = np.stack([1 - positive, positive], axis=1)
            return result
        columns = np.stack([m(scores[:, k]) for k, m in enumerate(self.maps)], axis=1)
        totals = columns.sum(axis=1, keepdims=True)
        uniform = np.full_like(columns, 1.0 / len(self.classes))
        normalized: FloatArray = np.where(
            totals > 0, columns / np.where(totals > 0, totals, 1), uniform
        )
        return normalized

    def to_dict(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "maps": [m.to_dict() for m in self.maps],
            "reference_accuracy": self.reference_accuracy,
            "reference_rows": self.reference_rows,
        } | ({"columns": list(self.columns)} if self.columns else {})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalibrationMap:
        classes = tuple(str(c) for c in data["classes"])
        maps = tuple(StepMap.from_dict(m) for m in data["maps"])
        expected = 1 if len(classes) == 2 else len(classes)
        if len(classes) < 2 or len(maps) != expected:
            raise ValueError(f"{len(classes)} classes need {expected} calibration maps")
        return cls(
            classes,
            maps,
            float(data["reference_accuracy"]),
            int(data["reference_rows"]),
            tuple(str(c) for c in data.get("columns", ())),
        )


def fit_step_map(scores: FloatArray, outcomes: FloatArray, bins: int = CALIBRATION_BINS) -> StepMap:
    """Isotonic regression of ``outcomes`` (0/1) on ``scores`` over equal-frequency bins."""
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    sorted_outcomes = outcomes[order]
    size = sorted_scores.size
    if size == 0:
        return StepMap((), (0.5,), (0,))
    cuts = np.unique(np.linspace(0, size, min(bins, size) + 1).round().astype(np.int64))
    # Never split equal scores across bins: move each cut to the end of its run of ties.
    cuts = np.unique(
        np.searchsorted(sorted_scores, sorted_scores[np.maximum(cuts - 1, 0)], "right")
    )
    cuts = np.unique(np.concatenate([[0], cuts[cuts > 0], [size]]))
    sums = np.add.reduceat(sorted_outcomes, cuts[:-1])
    counts = np.diff(cuts)
    uppers = sorted_scores[cuts[1:] - 1]
    # Pool adjacent violators on the bins (weights: rows per bin).
    pooled_sums: list[float] = []
    pooled_counts: list[int] = []
    pooled_uppers: list[float] = []
    for total, count, upper in zip(sums.tolist(), counts.tolist(), uppers.tolist(), strict=True):
        pooled_sums.append(total)
        pooled_counts.append(count)
        pooled_uppers.append(upper)
        while len(pooled_sums) > 1 and (
            pooled_sums[-2] / pooled_counts[-2] >= pooled_sums[-1] / pooled_counts[-1]
        ):
            last_sum, last_count = pooled_sums.pop(), pooled_counts.pop()
            pooled_sums[-1] += last_sum
            pooled_counts[-1] += last_count
            pooled_uppers[-1] = pooled_uppers.pop()
    values = tuple(s / c for s, c in zip(pooled_sums, pooled_counts, strict=True))
    # A step ends at its last reference score; scores between two steps go to the upper one.
    return StepMap(tuple(pooled_uppers[:-1]), values, tuple(pooled_counts))


def fit_calibration(
    probabilities: npt.ArrayLike, labels: npt.ArrayLike, classes: Sequence[str]
) -> CalibrationMap:
    """Fit the per-class calibration maps on reference scores and labels.

    ``probabilities`` is ``[n, K]`` in the order of ``classes`` (binary: ``[n, 1]`` with the
    score of ``classes[1]``, or ``[n, 2]``); ``labels`` are class names (compared as strings).
    """
    names = tuple(str(c) for c in classes)
    if len(names) < 2:
        raise ValueError("calibration needs at least two classes")
    shell = CalibrationMap(names, (), 0.0, 0)
    scores = shell.scores(probabilities)
    truth = np.asarray(labels).astype(str)
    if truth.shape[0] != scores.shape[0]:
        raise ValueError("one label per row of probabilities is needed")
    if shell.binary:
        maps: tuple[StepMap, ...] = (fit_step_map(scores[:, 0], (truth == names[1]).astype(float)),)
    else:
        maps = tuple(
            fit_step_map(scores[:, k], (truth == name).astype(float))
            for k, name in enumerate(names)
        )
    index = np.array([names.index(t) if t in names else -1 for t in truth.tolist()])
    accuracy = float(np.mean(shell.predicted(scores) == index)) if index.size else 0.0
    return CalibrationMap(names, maps, accuracy, int(index.size))


class EstimationSketch:
    """What the estimates need from a window; see the module docstring. Adds up."""

    def __init__(
        self,
        expected: FloatArray,
        variance: FloatArray,
        steps: IntArray,
        score_counts: IntArray,
        score_positives: FloatArray,
    ) -> None:
        self.expected = expected
        self.variance = variance
        self.steps = steps
        self.score_counts = score_counts
        self.score_positives = score_positives

    @classmethod
    def empty(cls, calibration: CalibrationMap) -> EstimationSketch:
        k = len(calibration.classes)
        return cls(
            np.zeros((k, k)),
            np.zeros((k, k)),
            np.zeros((len(calibration.maps), calibration.widest), dtype=np.int64),
            np.zeros((k, SCORE_GRID), dtype=np.int64),
            np.zeros((k, SCORE_GRID)),
        )

    @property
    def rows(self) -> int:
        return int(self.score_counts[0].sum())

    def add_scores(self, calibration: CalibrationMap, probabilities: npt.ArrayLike) -> None:
        """Add a batch of raw probabilities (rows with a non-finite score are skipped)."""
        scores = calibration.scores(probabilities)
        scores = scores[np.isfinite(scores).all(axis=1)]
        if scores.shape[0] == 0:
            return
        k = len(calibration.classes)
        calibrated = calibration.calibrated(scores)
        predicted = calibration.predicted(scores)
        onehot = np.zeros((scores.shape[0], k))
        onehot[np.arange(scores.shape[0]), predicted] = 1.0
        self.expected += calibrated.T @ onehot
        self.variance += (calibrated * (1 - calibrated)).T @ onehot
        if calibration.binary:
            steps = calibration.maps[0].step(scores[:, 0])
            self.steps[0] += np.bincount(steps, minlength=self.steps.shape[1])
        else:
            for c, m in enumerate(calibration.maps):
                chosen = predicted == c
                steps = m.step(scores[chosen, c])
                self.steps[c] += np.bincount(steps, minlength=self.steps.shape[1])
        full = np.stack([1 - scores[:, 0], scores[:, 0]], axis=1) if calibration.binary else scores
        cells = np.clip((full * SCORE_GRID).astype(np.int64), 0, SCORE_GRID - 1)
        for c in range(k):
            self.score_counts[c] += np.bincount(cells[:, c], minlength=SCORE_GRID)
            self.score_positives[c] += np.bincount(
                cells[:, c], weights=calibrated[:, c], minlength=SCORE_GRID
            )

    def copy(self) -> EstimationSketch:
        return self + EstimationSketch.empty_like(self)

    @classmethod
    def empty_like(cls, other: EstimationSketch) -> EstimationSketch:
        return cls(
            np.zeros_like(other.expected),
            np.zeros_like(other.variance),
            np.zeros_like(other.steps),
            np.zeros_like(other.score_counts),
            np.zeros_like(other.score_positives),
        )

    def __add__(self, other: EstimationSketch) -> EstimationSketch:
        return EstimationSketch(
            self.expected + other.expected,
            self.variance + other.variance,
            self.steps + other.steps,
            self.score_counts + other.score_counts,
            self.score_positives + other.score_positives,
        )

    def __sub__(self, other: EstimationSketch) -> EstimationSketch:
        return EstimationSketch(
            self.expected - other.expected,
            self.variance - other.variance,
            self.steps - other.steps,
            self.score_counts - other.score_counts,
            self.score_positives - other.score_positives,
        )

    def negative(self) -> bool:
        """A count went down (a restart, when this is a difference of two reads)."""
        tolerance = 1e-6 * max(1, self.rows)
        return bool(
            (self.steps < 0).any()
            or (self.score_counts < 0).any()
            or (self.expected < -tolerance).any()
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "expected": self.expected.tolist(),
            "variance": self.variance.tolist(),
            "steps": self.steps.tolist(),
            "score_counts": self.score_counts.tolist(),
            "score_positives": self.score_positives.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], calibration: CalibrationMap) -> EstimationSketch:
        """Read :meth:`to_dict` output; ``ValueError`` when it does not fit ``calibration``."""
        empty = cls.empty(calibration)
        sketch = cls(
            np.asarray(data["expected"], dtype=np.float64),
            np.asarray(data["variance"], dtype=np.float64),
            np.asarray(data["steps"], dtype=np.int64),
            np.asarray(data["score_counts"], dtype=np.int64),
            np.asarray(data["score_positives"], dtype=np.float64),
        )
        for name in ("expected", "variance", "steps", "score_counts", "score_positives"):
            if getattr(sketch, name).shape != getattr(empty, name).shape:
                raise ValueError(f"estimation sketch: {name} does not fit the calibration map")
        return sketch


@dataclass(frozen=True)
class Estimate:
    """One estimated metric and its band at the confidence asked."""

    metric: str
    value: float
    lower: float
    upper: float
    sd: float

    def to_dict(self) -> dict[str, float | str]:
        return {
            "metric": self.metric,
            "value": self.value,
            "lower": self.lower,
            "upper": self.upper,
        }


def estimate(
    sketch: EstimationSketch,
    calibration: CalibrationMap,
    confidence: float = 0.95,
    positive: int = 1,
) -> dict[str, Estimate]:
    """Every metric of :data:`ESTIMATED_METRICS` with its band (empty without rows).

    ``positive`` is the positive class's index for a binary model's precision, recall and F1.
    """
    n = sketch.rows
    if n == 0:
        return {}
    z = normal_quantile(1 - (1 - confidence) / 2)
    expected = sketch.expected
    variance = sketch.variance
    k = expected.shape[0]

    def band(metric: str, value: float, sd: float) -> Estimate:
        value = min(max(value, 0.0), 1.0)
        return Estimate(metric, value, max(value - z * sd, 0.0), min(value + z * sd, 1.0), sd)

    accuracy = float(np.trace(expected)) / n
    sampling = float(np.trace(variance)) / n**2
    calibration_error = 0.0
    for steps, m in zip(sketch.steps, calibration.maps, strict=False):
        values = np.asarray(m.values)
        counts = np.maximum(np.asarray(m.counts, dtype=np.float64), 1.0)
        share = steps[: values.size] / n
        calibration_error += float(
            (share**2 * (values * (1 - values) + 0.25 / counts) / counts).sum()
        )
    results = {"accuracy": band("accuracy", accuracy, math.sqrt(sampling + calibration_error))}

    tp = np.diagonal(expected)
    var_tp = np.diagonal(variance)
    predicted = expected.sum(axis=0)  # rows predicted each class
    fn = expected.sum(axis=1) - tp
    var_fn = variance.sum(axis=1) - var_tp
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        precision_var = np.where(predicted > 0, var_tp / predicted**2, 0.0)
        actual = tp + fn
        recall = np.where(actual > 0, tp / actual, 0.0)
        recall_var = np.where(actual > 0, (fn**2 * var_tp + tp**2 * var_fn) / actual**4, 0.0)
        denominator = tp + predicted + fn
        f1 = np.where(denominator > 0, 2 * tp / denominator, 0.0)
        f1_var = np.where(
            denominator > 0,
            4 * ((predicted + fn) ** 2 * var_tp + tp**2 * var_fn) / denominator**4,
            0.0,
        )
    classes = [positive] if k == 2 else list(range(k))
    for name, values, variances in (
        ("precision", precision, precision_var),
        ("recall", recall, recall_var),
        ("f1", f1, f1_var),
    ):
        chosen = np.asarray(classes)
        results[name] = band(
            name,
            float(values[chosen].mean()),
            math.sqrt(float(variances[chosen].sum())) / len(classes),
        )
    aucs = [_auc(sketch.score_counts[c], sketch.score_positives[c]) for c in classes]
    value = float(np.mean([a for a, _ in aucs]))
    sd = math.sqrt(sum(s * s for _, s in aucs)) / len(aucs)
    results["roc-auc"] = band("roc-auc", value, sd)
    return results


def _auc(counts: IntArray, positives: FloatArray) -> tuple[float, float]:
    """Expected ROC AUC on a score grid and its Hanley-McNeil standard error."""
    negatives = counts - positives
    total_positive = float(positives.sum())
    total_negative = float(negatives.sum())
    if total_positive <= 0 or total_negative <= 0:
        return 0.5, 0.0
    below = np.cumsum(negatives) - negatives
    auc = float((positives * (below + 0.5 * negatives)).sum()) / (total_positive * total_negative)
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    variance = (
        auc * (1 - auc)
        + (total_positive - 1) * (q1 - auc * auc)
        + (total_negative - 1) * (q2 - auc * auc)
    ) / (total_positive * total_negative)
    return auc, math.sqrt(max(variance, 0.0))
