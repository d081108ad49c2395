"""The window: a bounded, mergeable sketch of the live traffic (dataset B) since it opened.

Each sidecar replica keeps one :class:`Window`, the operator pulls them (``to_dict``), merges them
(``merge``) and evaluates the result against the baseline. Per feature and for the prediction it
keeps counts in the baseline's bins, missing and out-of-range counts, and count/sum/sum of
squares; for numeric columns a bottom-k reservoir of rows (see ``reservoir``) feeds the exact
tests. Labeled pairs go into a :class:`~kubedrift.stats.labels.LabeledSketch` and a bounded
uniform sample of full labeled rows, the data a retraining Job fetches.

Memory is fixed by the baseline and ``WindowSettings`` (reservoir and labeled capacities), not by
the traffic: the reservoir holds its sample plus, while it waits to settle, batches of up to three
times its capacity in rows (see ``reservoir.REFERENCED_ROWS``). ``merge`` is associative and
commutative: counts and sums add and reservoirs keep the smallest priority keys of the union.

``update`` is the sidecar's hot path, a fixed number of numpy calls per batch whatever the number
of features: the numeric columns are copied into one matrix (one row per column); row sums give the
moments and reveal missing values (a row sum is finite unless the row holds NaN or an infinity,
both counted as missing, so clean batches skip the scan); one uniform key per row goes to the
reservoir, which copies only the rows whose key beats its cut-off, or keeps the whole matrix when
at least half of them do (a fresh window's first batches; the window then bins a copy); then the
matrix is sorted along its rows and one search finds, for every column, how many values lie above
each of its edges (see :class:`~kubedrift.stats.binning.EdgeCounter`), whose differences are the
bin counts.

>>> import numpy as np
>>> from kubedrift.stats.baseline import build_baseline
>>> rng = np.random.default_rng(1)
>>> baseline = build_baseline({"x": rng.normal(size=1000)})
>>> window = Window(baseline, seed=2, start=0.0)
>>> window.update({"x": rng.normal(size=300)})
>>> window.samples, window.is_full(now=10.0)
(300, False)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from kubedrift.stats.baseline import Baseline, FeatureProfile
from kubedrift.stats.binning import (
    EdgeCounter,
    FloatArray,
    IntArray,
    categorical_bin_counts,
    category_keys,
)
from kubedrift.stats.estimation import EstimationSketch
from kubedrift.stats.labels import LabeledSketch
from kubedrift.stats.reservoir import ArrayReservoir, RowReservoir
from kubedrift.stats.settings import WindowSettings
from kubedrift.stats.window_plan import WindowPlan

FORMAT_VERSION = 1
#: Names of unknown columns a window keeps for messages (bounded: names come from payloads).
UNKNOWN_NAMES_KEPT = 8


class Window:
    """A mergeable sketch of one window of traffic; see the module docstring."""

    def __init__(
        self,
        baseline: Baseline,
        settings: WindowSettings = WindowSettings(),  # noqa: B008 - frozen, shared safely
        *,
        seed: int | None = None,
        start: float,
        plan: WindowPlan | None = None,
    ) -> None:
        """``plan``, when given, must be built for ``baseline``: pass one plan to every window
        of a baseline to skip computing it each time (see ``window_plan``)."""
        if plan is None:
            plan = WindowPlan.for_baseline(baseline)
        elif plan.baseline is not baseline:
            raise ValueError("the window plan was built for another baseline")
        self.baseline = baseline
        self.settings = settings
        self.plan = plan
        self._rng = np.random.default_rng(seed)
        self._start = start
        self._end = start
        self._samples = 0
        self._labeled = 0
        #: Every tracked column in order (``WindowPlan.profiles``); the prediction, when
        #: profiled, is the last one.
        self.profiles: tuple[FeatureProfile, ...] = plan.profiles
        self._numeric = plan.numeric
        self._categorical = plan.categorical
        #: Bin counts per column, padded to the widest column; column i uses its first
        #: ``len(profiles[i].counts)`` entries.
        self.counts: IntArray = np.zeros((len(plan.profiles), plan.widest), dtype=np.int64)
        self.missing: IntArray = np.zeros(len(plan.profiles), dtype=np.int64)
        self.out_of_range: IntArray = np.zeros(len(plan.profiles), dtype=np.int64)
        #: Rows of batches that carried a column the baseline does not know, and the first
        #: ``UNKNOWN_NAMES_KEPT`` such names (for messages; the rest are only counted).
        self.unknown_rows = 0
        self.unknown_names: tuple[str, ...] = ()
        width = len(plan.numeric)
        self.sums: FloatArray = np.zeros(width, dtype=np.float64)
        self.squares: FloatArray = np.zeros(width, dtype=np.float64)
        self.reservoir = ArrayReservoir(settings.reservoir_size, width)
        self.labels = LabeledSketch(baseline.classes if baseline.task == "classification" else ())
        self.labeled_sample = RowReservoir(settings.labeled_capacity)
        #: What performance estimated without labels needs (``stats.estimation``), kept when the
        #: baseline has calibration maps; fed by :meth:`add_probabilities`.
        self.estimation: EstimationSketch | None = (
            EstimationSketch.empty(baseline.calibration) if baseline.calibration else None
        )
        # Each numeric column is binned by counting its values above every edge position of
        # the plan's edge table; ``EdgeCounter`` does it for all columns at once (see
        # _update_numeric). It keeps a scratch array, so each window has its own.
        self._edge_counter = EdgeCounter(plan.edges, plan.search_tables)

    @property
    def samples(self) -> int:
        return self._samples

    @property
    def labeled(self) -> int:
        return self._labeled

    @property
    def start(self) -> float:
        return self._start

    @property
    def end(self) -> float:
        return self._end

    def is_full(self, now: float) -> bool:
        """Full when it holds ``settings.samples`` rows or has been open ``max_age_seconds``."""
        return (
            self._samples >= self.settings.samples
            or now - self._start >= self.settings.max_age_seconds
        )

    def update(
        self,
        rows: Mapping[str, npt.NDArray[Any]],
        predictions: npt.NDArray[Any] | None = None,
        *,
        now: float | None = None,
    ) -> None:
        """Add a batch of rows (column name -> 1-D array of equal length).

        Numeric columns are floats with NaN for missing values (infinities count as missing
        too), categorical columns object or string arrays with None for missing; a baseline
        feature absent from ``rows`` counts as missing, a column the baseline does not know is
        counted in :attr:`unknown_rows` (and named in :attr:`unknown_names`). ``now`` (seconds)
        advances :attr:`end`.
        """
        size = _batch_size(rows, predictions)
        if now is not None:
            self._end = max(self._end, now)
        if size == 0:
            return
        if not self.plan.known_names.issuperset(rows):
            self.note_unknown(size, [name for name in rows if name not in self.plan.known_names])
        columns = self._columns(rows, predictions, size)
        self._update_numeric(columns, size)
        for index in self._categorical:
            values = columns[index]
            if values is None:
                self.missing[index] += size
                continue
            keys = category_keys(values)
            counts = categorical_bin_counts(keys, self.profiles[index].vocabulary)
            self.counts[index, : counts.size] += counts
            self.missing[index] += size - int(counts.sum())
            self.out_of_range[index] += int(counts[-1])
        self._samples += size

    def add_counts(
        self,
        samples: int,
        counts: IntArray,
        missing: IntArray,
        out_of_range: IntArray,
        *,
        unknown_rows: int = 0,
        confusion: IntArray | None = None,
    ) -> None:
        """Add rows that arrive already binned (a simulation of per-interval counts, a tally):
        they count everywhere but in the reservoir and the moments, which need raw values.
        ``confusion`` adds labeled pairs of a classifier (rows: labels, columns: predictions)."""
        self._samples += int(samples)
        self.counts[:, : counts.shape[1]] += counts
        self.missing += missing
        self.out_of_range += out_of_range
        self.unknown_rows += int(unknown_rows)
        if confusion is not None:
            self.labels.confusion += confusion
            self._labeled += int(confusion.sum())

    def add_probabilities(self, probabilities: npt.ArrayLike) -> None:
        """Add the model's class probabilities of a batch (``[rows, classes]``; a binary model
        may give one column) to :attr:`estimation`; ignored without calibration maps. The rows
        themselves are counted by :meth:`update`."""
        if self.estimation is not None and self.baseline.calibration is not None:
            self.estimation.add_scores(self.baseline.calibration, probabilities)

    def note_unknown(self, size: int, unknown: Sequence[str]) -> None:
        """Count ``size`` rows that carried the columns ``unknown``, which the baseline does not
        know (the sidecar drops such columns before :meth:`update` and reports them here)."""
        if not unknown or size <= 0:
            return
        self.unknown_rows += size
        if len(self.unknown_names) < UNKNOWN_NAMES_KEPT:
            names = dict.fromkeys((*self.unknown_names, *sorted(map(str, unknown))))
            self.unknown_names = tuple(names)[:UNKNOWN_NAMES_KEPT]

    def _columns(
        self,
        rows: Mapping[str, npt.NDArray[Any]],
        predictions: npt.NDArray[Any] | None,
        size: int,
    ) -> list[npt.NDArray[Any] | None]:
        columns: list[npt.NDArray[Any] | None] = list(map(rows.get, self.plan.feature_names))
        multivariate = self.baseline.multivariate
        if multivariate is not None:
            # The reconstruction error is one more numeric column (see ``stats.multivariate``).
            columns.append(multivariate.errors(list(map(rows.get, multivariate.features)), size))
        for block in self.baseline.embeddings:
            # A block is a few derived numeric columns (see ``stats.embedding``).
            columns.extend(block.values(embedding_rows(rows, block.name, block.width), size))
        if self.baseline.prediction is not None:
            columns.append(predictions)
        if {len(values) for values in columns if values is not None} - {size}:
            raise ValueError("all columns of a batch must have the same length")
        return columns

    def _update_numeric(self, columns: list[npt.NDArray[Any] | None], size: int) -> None:
        if not self._numeric:
            return
        supplied = [columns[i] for i in self._numeric]
        matrix = (
            np.concatenate([np.full(size, np.nan) if v is None else v for v in supplied])
            .astype(np.float64, copy=False)
            .reshape(len(supplied), size)
        )
        with np.errstate(invalid="ignore"):  # +inf and -inf in one row sum to NaN
            sums = matrix.sum(axis=1)
        # A row sum is not finite when the row holds a NaN or an infinity (or overflows): only
        # then is the batch scanned. Infinities count as missing, as the payload parsers make
        # them, so that they reach neither the moments nor the reservoir's exact tests.
        missing = ~np.isfinite(matrix) if not np.isfinite(sums).all() else None
        if missing is None:
            missing_counts: IntArray | int = 0
            squares = np.einsum("ij,ij->i", matrix, matrix)
        else:
            missing_counts = missing.sum(axis=1)
            matrix[missing] = np.nan
            filled = np.where(missing, 0.0, matrix)
            sums = filled.sum(axis=1)
            squares = np.einsum("ij,ij->i", filled, filled)
        self.sums += sums
        self.squares += squares
        if self.reservoir.offer(self._rng.random(size), matrix, owned=True):
            matrix = matrix.copy()  # the reservoir keeps the matrix as it is
        # The matrix is now only binned (and sorted doing so).
        present = size - missing_counts
        if missing is not None:
            self.missing[self.plan.numeric_index] += missing_counts
            matrix[missing] = -np.inf
        above = self._edge_counter.above(matrix)
        outside = present - above[:, 0] + above[self.plan.numeric_rows, self.plan.last_position]
        # Bin j holds the values above edge position j but not above j + 1. Counting every
        # present value as above position 0, and none above the maximum, puts the values below
        # the reference range in the first bin and those above it in the last.
        above[:, 0] = present
        above *= self.plan.opens_bin
        bins = above[:, :-1] - above[:, 1:]
        self.counts[self.plan.numeric_index, : bins.shape[1]] += bins
        self.out_of_range[self.plan.numeric_index] += outside

    def add_labeled(
        self,
        predictions: npt.NDArray[Any],
        labels: npt.NDArray[Any],
        rows: Mapping[str, npt.NDArray[Any]] | None = None,
        *,
        now: float | None = None,
    ) -> None:
        """Add joined prediction/label pairs, optionally with the rows they were made on."""
        size = len(predictions)
        if len(labels) != size:
            raise ValueError("predictions and labels must have the same length")
        if now is not None:
            self._end = max(self._end, now)
        if size == 0:
            return
        self.labels.add(np.asarray(predictions), np.asarray(labels))
        self._labeled += size
        keys = self._rng.random(size)
        chosen = np.flatnonzero(keys < self.labeled_sample.threshold())
        sampled = [
            {
                # embedding blocks (2-D) stay out: a labeled row keeps the scalar features
                "features": {
                    name: _json_value(values[i])
                    for name, values in (rows or {}).items()
                    if values.ndim == 1
                },
                "prediction": _json_value(predictions[i]),
                "label": _json_value(labels[i]),
                # When the label was joined: a retraining Job splits dataset B by it.
                **({} if now is None else {"time": now}),
            }
            for i in chosen.tolist()
        ]
        self.labeled_sample.offer(keys[chosen], sampled)

    def labeled_rows(self) -> list[dict[str, Any]]:
        """A uniform sample (at most ``labeled_capacity``) of labeled rows: ``{"features":
        {...}, "prediction": ..., "label": ..., "time": ...}`` (``time``, when the label was
        joined, when ``add_labeled`` was given ``now``); dataset B for a retraining Job."""
        return [dict(row) for row in self.labeled_sample.rows]

    def numeric_sample(self, name: str) -> FloatArray:
        """The reservoir's non-missing values of a numeric feature (or of the prediction)."""
        index = next(i for i, p in enumerate(self.profiles) if p.name == name)
        return self.reservoir.column(self.numeric_position(index))

    def numeric_position(self, index: int) -> int:
        """Column of :attr:`reservoir` (and of the moment arrays) for column ``index`` of
        :attr:`profiles`, which must be numeric."""
        return self._numeric.index(index)

    def column_counts(self, index: int) -> IntArray:
        """Bin counts of column ``index`` of :attr:`profiles`."""
        return self.counts[index, : len(self.profiles[index].counts)]

    def moments(self, index: int) -> tuple[float, float] | None:
        """(mean, population std) of numeric column ``index``; ``None`` without data."""
        position = self.numeric_position(index)
        present = self._samples - int(self.missing[index])
        if present == 0:
            return None
        mean = self.sums[position] / present
        variance = max(self.squares[position] / present - mean * mean, 0.0)
        return float(mean), float(np.sqrt(variance))

    def merge(self, other: Window) -> Window:
        """A new window holding both windows' data (same baseline required)."""
        if other.baseline is not self.baseline and other.baseline != self.baseline:
            raise ValueError("cannot merge windows built on different baselines")
        result = Window(
            self.baseline, self.settings, start=min(self._start, other._start), plan=self.plan
        )
        result._end = max(self._end, other._end)
        result._samples = self._samples + other._samples
        result._labeled = self._labeled + other._labeled
        result.counts = self.counts + other.counts
        result.missing = self.missing + other.missing
        result.out_of_range = self.out_of_range + other.out_of_range
        result.unknown_rows = self.unknown_rows + other.unknown_rows
        names = dict.fromkeys((*self.unknown_names, *other.unknown_names))
        result.unknown_names = tuple(names)[:UNKNOWN_NAMES_KEPT]
        result.sums = self.sums + other.sums
        result.squares = self.squares + other.squares
        result.reservoir = self.reservoir.merged(other.reservoir)
        result.labels = self.labels.merged(other.labels)
        result.labeled_sample = self.labeled_sample.merged(other.labeled_sample)
        if self.estimation is not None and other.estimation is not None:
            result.estimation = self.estimation + other.estimation
        return result

    def to_dict(self, *, labeled_rows: bool = True) -> dict[str, Any]:
        """Compact JSON-able state (arrays of floats as exact base64 float64); without
        ``labeled_rows`` the labeled-row sample stays out (:meth:`from_dict` then restores an
        empty one)."""
        return (
            {
                "version": FORMAT_VERSION,
                "start": self._start,
                "end": self._end,
                "samples": self._samples,
                "labeled": self._labeled,
                "columns": [
                    {
                        "name": p.name,
                        "counts": self.column_counts(i).tolist(),
                        "missing": int(self.missing[i]),
                        "out_of_range": int(self.out_of_range[i]),
                    }
                    for i, p in enumerate(self.profiles)
                ],
                "unknown_rows": self.unknown_rows,
                "unknown_names": list(self.unknown_names),
                "moments": {
                    "sums": self.sums.tolist(),
                    "squares": self.squares.tolist(),
                },
                "reservoir": self.reservoir.to_dict(),
                "labels": self.labels.to_dict(),
            }
            | ({"labeled_rows": self.labeled_sample.to_dict()} if labeled_rows else {})
            | ({"estimation": self.estimation.to_dict()} if self.estimation is not None else {})
        )

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        baseline: Baseline,
        settings: WindowSettings = WindowSettings(),  # noqa: B008 - frozen, shared safely
        *,
        plan: WindowPlan | None = None,
    ) -> Window:
        """Rebuild a window from :meth:`to_dict` output; raises ``ValueError`` when it does not
        fit ``baseline``. ``plan``: the baseline's, to share among the windows rebuilt."""
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"unsupported window version {data.get('version')!r}")
        window = cls(baseline, settings, start=float(data["start"]), plan=plan)
        names = [c["name"] for c in data["columns"]]
        if names != [p.name for p in window.profiles]:
            raise ValueError("window columns do not match the baseline")
        window._end = float(data["end"])
        window._samples = int(data["samples"])
        window._labeled = int(data["labeled"])
        window.unknown_rows = int(data.get("unknown_rows", 0))
        window.unknown_names = tuple(str(n) for n in data.get("unknown_names", ()))[
            :UNKNOWN_NAMES_KEPT
        ]
        for i, column in enumerate(data["columns"]):
            counts = np.asarray(column["counts"], dtype=np.int64)
            if counts.size != len(window.profiles[i].counts):
                raise ValueError(f"column {column['name']!r}: wrong number of bins")
            window.counts[i, : counts.size] = counts
            window.missing[i] = int(column["missing"])
            window.out_of_range[i] = int(column["out_of_range"])
        moments = data["moments"]
        window.sums = np.asarray(moments["sums"], dtype=np.float64)
        window.squares = np.asarray(moments["squares"], dtype=np.float64)
        if window.sums.shape != (len(window._numeric),):
            raise ValueError("window moments do not match the baseline")
        window.reservoir = ArrayReservoir.from_dict(
            data["reservoir"], settings.reservoir_size, len(window._numeric)
        )
        window.labels = LabeledSketch.from_dict(data["labels"])
        if "labeled_rows" in data:
            window.labeled_sample = RowReservoir.from_dict(
                data["labeled_rows"], settings.labeled_capacity
            )
        if baseline.calibration is not None and data.get("estimation") is not None:
            window.estimation = EstimationSketch.from_dict(data["estimation"], baseline.calibration)
        return window


def judged_window(
    current: Window | None, completed: Window | None, min_samples: int
) -> Window | None:
    """The window an evaluation reads: the current one, merged with the last completed one while
    the current holds fewer than ``min_samples`` rows (so that a window that has just rotated does
    not read as too little data). The operator and the backtest both use this rule."""
    if current is None or current.samples >= min_samples or completed is None:
        return current
    return current.merge(completed)


def embedding_rows(
    rows: Mapping[str, npt.NDArray[Any]], name: str, width: int
) -> npt.NDArray[Any] | None:
    """Block ``name``'s ``size x width`` values in a batch: its 2-D array, else its columns
    ``<name>-0 ..`` stacked; ``None`` when the batch lacks it or its width differs."""
    found = rows.get(name)
    if found is not None:
        return found if found.ndim == 2 and found.shape[1] == width else None
    parts = [rows.get(f"{name}-{j}") for j in range(width)]
    present = [part for part in parts if part is not None]
    if len(present) < width:
        return None
    return np.column_stack(present)


def _batch_size(rows: Mapping[str, npt.NDArray[Any]], predictions: npt.NDArray[Any] | None) -> int:
    for values in rows.values():
        return len(values)
    return 0 if predictions is None else len(predictions)


def _json_value(value: Any) -> Any:
    """A plain JSON value for a numpy scalar; NaN and None become None."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value
