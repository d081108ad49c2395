"""The engine: e-detectors on increments, effect-size gates, hysteresis, three conditions.

One :class:`Engine` per monitor and baseline. :meth:`Engine.step` takes what arrived since the
previous step (a :class:`~kubedrift.stats.engine.tally.Tally` increment, any number of rows and
labels) and the window users read, and returns a :class:`Decision`. Per step:

1. **Evidence.** Every alternative multiplies the e-value of the increment into its
   Shiryaev-Roberts e-detector, ``R = (1 + R) E`` (kept in logs; ``alternatives``): per column
   the location and spread tilts (numeric), the category tilts (categorical) and the plug-in
   shape alternative (every column); per column the missing-value rate and the out-of-range
   (numeric) or unseen-category (categorical) rate; the share of rows with columns the baseline
   does not know; the error rate from labels (classifiers with ``spec.performance``).
   Alternatives below the practical-significance floor are not run (they could never alarm).
2. **Crossing.** A group of alternatives (a column's drift alternatives, one rate) *crosses*
   when the log of the weighted sum of its e-detectors reaches ``h = ln(W T / interval)``
   (``contract``). A crossing is decided once the window users read holds
   ``window.minSamples`` rows (``minLabeledSamples`` labels for the error rate); until then the
   statistics keep running. A decided crossing starts the group's e-detectors again from 0, so
   decided crossings under no change happen at most once per ``T`` for the whole monitor on
   average, whatever the traffic (a deferred decision only lengthens the detector's run).
3. **Practical significance.** A crossing raises the group's alarm only when the change it found
   is worth one: every fixed alternative the plan runs lies at least ``min_effect`` from the
   reference (the largest gap between its binned cumulative distribution and the reference's
   for numeric columns, the change of a category's share, or its rise above the reference
   rate); the plug-in shape alternative's effect is measured each step, and when it is below
   the floor it must not hold most of the group's evidence. Otherwise the crossing is counted as
   unconfirmed. (A true change of about half the floor can still reach an alternative at the
   floor: an e-detector gains on any change more than half its alternative's size.)
4. **Hysteresis.** An alarm holds until evidence of recovery: no crossing over a whole window of
   new data (``window.samples`` rows; ``minLabeledSamples`` labels for the error rate) *and* the
   window's effect size below ``min_effect``. A new baseline (a retrained model's rollout) starts
   a new engine, which clears everything.
5. **The windowed metric** (``spec.performance``): degraded when its interval at confidence
   ``1 - 2 interval / (W T)`` lies wholly on the wrong side of the threshold (each look spends one
   alternative's share of the budget); it recovers when the interval at ``performance.
   confidence`` lies wholly on the right side.

The conditions: ``DriftDetected`` when the share of alarmed features reaches ``driftShare`` (at
least one) or the prediction alarmed; ``PerformanceDegraded`` on the error rate or the windowed
metric; ``DataQualityDegraded`` on any data-quality rate. Each is ``Unknown`` while there is too
little data (fewer than ``window.minSamples`` rows in the window, fewer than
``minLabeledSamples`` labels) and no alarm holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

import numpy as np
import numpy.typing as npt

from kubedrift.stats.baseline import Baseline
from kubedrift.stats.binning import FloatArray
from kubedrift.stats.engine.alternatives import RATE_STEPS, SMOOTHING
from kubedrift.stats.engine.contract import Contract
from kubedrift.stats.engine.estimated import REASON as ESTIMATED_REASON
from kubedrift.stats.engine.estimated import EstimatedErrorDetector
from kubedrift.stats.engine.plan import KIND_CODES, EnginePlan, RateRow
from kubedrift.stats.engine.reference import projection
from kubedrift.stats.engine.tally import Tally
from kubedrift.stats.performance import HIGHER_IS_BETTER, assess
from kubedrift.stats.settings import EvaluationSettings, Verdict
from kubedrift.stats.window import Window

ConditionStatus = Literal["True", "False", "Unknown"]
BoolArray = npt.NDArray[np.bool_]

#: Pseudo-counts per bin of the reference in the plug-in shape alternative (a prior that keeps
#: the first steps of a run close to the reference).
PRIOR_PER_BIN = 2.0
#: Memory of the plug-in shape alternative, in rows: its history is the column's counts with
#: each row's weight decaying by ``exp(-1 / SHAPE_MEMORY)`` per later row, so that it follows a
#: change within a few hundred rows whatever its detector's statistic does (a history that
#: restarted whenever the statistic fell below 0 kept forgetting what it had learned).
SHAPE_MEMORY = 200.0
#: A step is taken at most this share of an interval after the previous one; earlier calls add
#: their increment to the next step (so that early evaluations cannot spend extra budget).
MIN_STEP_SHARE = 0.5

_QUALITY_REASONS: dict[str, str] = {
    "missing": "MissingValues",
    "out-of-range": "OutOfRange",
    "unseen-categories": "UnseenCategories",
    "unknown-columns": "UnknownColumns",
}


@dataclass(frozen=True)
class ConditionState:
    """One alarm condition as the engine decided it."""

    status: ConditionStatus
    reason: str
    message: str


@dataclass(frozen=True)
class SignalResult:
    """One detector group after a step: its largest statistic against the threshold, the
    effect size that gates it, and whether its alarm holds."""

    name: str
    column: str | None
    kind: str
    condition: Literal["DriftDetected", "PerformanceDegraded", "DataQualityDegraded"]
    statistic: float
    threshold: float
    effect: float
    crossed: bool
    alarmed: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "column": self.column,
            "kind": self.kind,
            "condition": self.condition,
            "statistic": self.statistic,
            "threshold": self.threshold,
            "effect": self.effect,
            "crossed": self.crossed,
            "alarmed": self.alarmed,
        }


@dataclass(frozen=True)
class Decision:
    """What one step decided. ``drifted`` lists the alarmed features (not the prediction)."""

    drift: ConditionState
    performance: ConditionState | None
    quality: ConditionState
    verdict: Verdict
    share: float
    drifted: tuple[str, ...]
    prediction_drifted: bool
    threshold: float
    alternatives: int
    stepped: bool
    #: Builds :attr:`signals` from a snapshot of the step, on first use (status, JSON): a caller
    #: that only needs the conditions (a long simulation) does not pay for them.
    make_signals: Callable[[], tuple[SignalResult, ...]] = field(repr=False, compare=False)
    #: The multivariate signal (``stats.multivariate``) alarmed; it drifts the monitor alone.
    multivariate_drifted: bool = False
    #: The embedding blocks (``stats.embedding``) with a derived column in alarm; any drifts the
    #: monitor alone.
    embeddings_drifted: tuple[str, ...] = ()
    #: The largest statistic (log e-value) of the drift detectors (features, prediction,
    #: multivariate, embeddings), the largest ``statistic`` of the ``DriftDetected`` signals,
    #: without building them (a segment's status needs only this).
    drift_evidence: float = 0.0

    @cached_property
    def signals(self) -> tuple[SignalResult, ...]:
        """Every detector group after the step: statistic, threshold, effect, alarm."""
        return self.make_signals()

    def signal(self, name: str) -> SignalResult:
        return next(s for s in self.signals if s.name == name)

    def to_dict(self) -> dict[str, object]:
        def condition(state: ConditionState | None) -> dict[str, str] | None:
            if state is None:
                return None
            return {"status": state.status, "reason": state.reason, "message": state.message}

        return {
            "conditions": {
                "DriftDetected": condition(self.drift),
                "PerformanceDegraded": condition(self.performance),
                "DataQualityDegraded": condition(self.quality),
            },
            "threshold": self.threshold,
            "alternatives": self.alternatives,
            "signals": [s.to_dict() for s in self.signals if s.statistic > 0 or s.alarmed],
        }


class Engine:
    """Sequential detection for one monitor; see the module docstring.

    >>> from kubedrift.stats.baseline import build_baseline
    >>> rng = np.random.default_rng(3)
    >>> baseline = build_baseline({"x": rng.normal(size=20_000)})
    >>> engine = Engine(baseline, EvaluationSettings(), Contract(30 * 86400.0, 30.0))
    >>> window = Window(baseline, start=0.0)  # what users read
    >>> alarms = []
    >>> for step in range(40):  # 30 rows every 30 s; the mean moves half a sd at step 20
    ...     batch = {"x": rng.normal(0.5 if step >= 20 else 0.0, 1.0, size=30)}
    ...     increment = Window(baseline, start=0.0)
    ...     increment.update(batch)
    ...     window.update(batch)
    ...     decision = engine.step(Tally.of_window(increment), window, now=30.0 * step)
    ...     alarms.append(decision.drift.status)
    >>> alarms.index("True"), round(engine.threshold, 2)
    (25, 14.21)
    """

    # Slots, not an instance dict: an engine has more attributes than a dict shares keys for
    # (30), so each of the operator's engines paid about 1.5 KB for its own dict.
    __slots__ = (
        "_bins",
        "_category_active",
        "_category_bins",
        "_category_columns",
        "_category_effects",
        "_category_event",
        "_category_miss",
        "_category_s",
        "_category_starts",
        "_drift_alarm",
        "_drift_quiet",
        "_embedding",
        "_last_step",
        "_look_confidence",
        "_metric_alarm",
        "_multivariate",
        "_numeric",
        "_pending",
        "_prediction",
        "_radius",
        "_rate_active",
        "_rate_alarm",
        "_rate_alternative_effects",
        "_rate_columns",
        "_rate_event",
        "_rate_kinds",
        "_rate_log_weight",
        "_rate_miss",
        "_rate_quiet",
        "_rate_reference",
        "_rate_run",
        "_rate_s",
        "_rates",
        "_recent",
        "_reference",
        "_run",
        "_shape_log_weight",
        "_shape_s",
        "_tilt_active",
        "_tilt_effects",
        "_tilt_s",
        "_tilt_weights",
        "_uniform",
        "_watched",
        "_widest",
        "alternatives",
        "baseline",
        "contract",
        "estimated",
        "floor",
        "plan",
        "profiles",
        "settings",
        "steps",
        "threshold",
        "unconfirmed",
    )

    def __init__(
        self,
        baseline: Baseline,
        settings: EvaluationSettings,
        contract: Contract,
        plan: EnginePlan | None = None,
    ):
        if plan is None:
            plan = EnginePlan.shared(baseline, settings, contract)
        elif not plan.fits(baseline, settings, contract):
            raise ValueError("the engine plan was built for another baseline, settings or contract")
        self.plan = plan
        self.baseline = baseline
        self.settings = settings
        self.contract = contract
        # The plan's read-only tables under the names the steps use (references, not copies).
        self.profiles = plan.profiles
        self._prediction = plan.prediction
        self._multivariate = plan.multivariate
        self._embedding = frozenset(plan.embedding)
        self.floor = plan.floor
        self._widest = plan.widest
        self._bins = plan.bins
        self._reference = plan.reference
        self._uniform = plan.uniform
        self._numeric = plan.numeric
        self._watched = plan.watched
        self._rates = plan.rates
        self._radius = plan.radius
        self._tilt_weights = plan.tilt_weights
        self._tilt_active = plan.tilt_active
        self._tilt_effects = plan.tilt_effects
        self._category_columns = plan.category_columns
        self._category_bins = plan.category_bins
        self._category_event = plan.category_event
        self._category_miss = plan.category_miss
        self._category_active = plan.category_active
        self._category_effects = plan.category_effects
        self._rate_columns = plan.rate_columns
        self._rate_kinds = plan.rate_kinds
        self._rate_reference = plan.rate_reference
        self._rate_alternative_effects = plan.rate_alternative_effects
        self._rate_event = plan.rate_event
        self._rate_miss = plan.rate_miss
        self._rate_active = plan.rate_active
        self._rate_log_weight = plan.rate_log_weight
        self._shape_log_weight = plan.shape_log_weight
        #: First category row of each categorical column (rows are sorted by column).
        self._category_starts = np.flatnonzero(
            np.diff(self._category_columns, prepend=-1) != 0
        ).astype(np.int64)
        self.alternatives = plan.alternatives
        self.threshold = plan.threshold
        self._look_confidence = plan.look_confidence
        #: The estimated error rate (``spec.performance.estimated``), or ``None``.
        self.estimated = (
            EstimatedErrorDetector(
                baseline.calibration,
                threshold=self.threshold,
                delta=plan.delta,
                min_effect=self.floor,
                quiet=float(settings.window.samples),
            )
            if plan.estimating and baseline.calibration is not None
            else None
        )
        size = len(self.profiles)
        widest = self._widest
        # Detector state: each alternative's log Shiryaev-Roberts e-detector (``_sr``), -inf
        # before its first evidence and for alternatives that are not run.
        self._tilt_s = np.full(self._tilt_active.shape, -np.inf)
        self._shape_s = np.full(size, -np.inf)
        self._category_s = np.full(self._category_active.shape, -np.inf)
        self._rate_s = np.full((len(self._rates), len(RATE_STEPS)), -np.inf)
        self._run = np.zeros((size, widest))
        self._recent = np.zeros((size, widest))
        self._rate_run = np.zeros((len(self._rates), 2))  # events, trials
        self._drift_alarm = np.zeros(size, dtype=bool)
        self._drift_quiet = np.zeros(size)
        self._rate_alarm = np.zeros(len(self._rates), dtype=bool)
        self._rate_quiet = np.zeros(len(self._rates))
        self._metric_alarm = False
        self._pending: Tally | None = None
        self._last_step: float | None = None
        self.steps = 0
        self.unconfirmed = 0

    # -- stepping ---------------------------------------------------------------------------

    def step(self, increment: Tally | None, window: Window | None, *, now: float) -> Decision:
        """Add ``increment`` (what arrived since the previous call; ``None`` for nothing) and
        decide. Called more often than every half interval, it only accumulates and decides on
        the alarms as they stand (``Decision.stepped`` is false)."""
        if increment is not None:
            self._pending = increment if self._pending is None else self._pending + increment
        due = self._last_step is None or now - self._last_step >= MIN_STEP_SHARE * (
            self.contract.interval
        )
        crossed_columns: BoolArray = np.zeros(len(self.profiles), dtype=bool)
        crossed_rates: BoolArray = np.zeros(len(self._rates), dtype=bool)
        if due:
            pending, self._pending = self._pending, None
            self._last_step = now
            self.steps += 1
            if pending is not None:
                gate = window is not None and window.samples >= self.settings.window.min_samples
                performance = self.settings.performance
                label_gate = window is not None and (
                    performance is None or window.labeled >= performance.min_labeled_samples
                )
                crossed_columns = self._step_drift(pending, gate)
                crossed_rates = self._step_rates(pending, gate, label_gate)
                if self.estimated is not None:
                    self.estimated.step(pending.estimation, decide=gate)
            self._step_metric(window)
            self._recover(window)
            if self.estimated is not None and window is not None:
                self.estimated.recover(window.estimation)
        return self._decide(window, crossed_columns, crossed_rates, stepped=due)

    def _step_drift(self, increment: Tally, gate: bool) -> BoolArray:
        counts = increment.counts.astype(np.float64)
        tilt = np.einsum("cb,cbj->cj", counts, self._tilt_weights)
        self._tilt_s = np.where(self._tilt_active > 0, _sr(self._tilt_s, tilt), -np.inf)
        shape, shape_effect = self._shape_evidence(counts)
        self._shape_s = np.where(self._watched, _sr(self._shape_s, shape), -np.inf)
        self._step_categories(counts)
        self._run += counts
        fixed = self._fixed_statistics()
        shape_weighted = self._shape_s + self._shape_log_weight
        best = np.logaddexp(fixed, shape_weighted)
        crossed: BoolArray = self._watched & (best >= self.threshold)
        decided = crossed & gate
        # The change found is worth an alarm when the alternatives at least min_effect away
        # from the reference hold most of the group's evidence. Every fixed alternative is (the
        # plan runs no other); the plug-in shape alternative is when its own effect is.
        confirmed = decided & ((shape_effect >= self.floor) | (fixed >= shape_weighted))
        self._drift_alarm |= confirmed
        self.unconfirmed += int((decided & ~confirmed).sum())
        restart = decided | (self._shape_s <= 0.0)
        self._tilt_s[decided] = -np.inf
        self._shape_s[decided] = -np.inf
        self._category_s[decided[self._category_columns]] = -np.inf
        self._run[restart] = 0.0
        self._recent[decided] = 0.0
        present = (increment.samples - increment.missing).astype(np.float64)
        self._drift_quiet = np.where(crossed, 0.0, self._drift_quiet + present)
        return crossed

    def _step_categories(self, counts: FloatArray) -> None:
        """Add the increment's evidence to every category tilt (a Bernoulli likelihood ratio on
        the category's count among the column's rows)."""
        if not self._category_columns.size:
            return
        events = counts[self._category_columns, self._category_bins]
        trials = counts.sum(axis=1)[self._category_columns]
        evidence = (
            events[:, None] * self._category_event
            + (trials - events)[:, None] * self._category_miss
        )
        self._category_s = np.where(
            self._category_active > 0, _sr(self._category_s, evidence), -np.inf
        )

    def _fixed_statistics(self) -> FloatArray:
        """Each column's log of the sum of its fixed alternatives' e-detectors (location,
        spread and category tilts); -inf for a column without any."""
        result = _log_sum(self._tilt_s)
        if self._category_columns.size:
            # Category rows come column by column (the plan builds them so): one slice each.
            rows = _log_sum(self._category_s)
            starts = self._category_starts
            peak = np.maximum.reduceat(rows, starts)
            shift = np.where(np.isfinite(peak), peak, 0.0)
            total = np.add.reduceat(
                np.exp(rows - np.repeat(shift, np.diff([*starts, rows.size]))), starts
            )
            with np.errstate(divide="ignore"):
                per_column = np.where(np.isfinite(peak), shift + np.log(total), -np.inf)
            columns = self._category_columns[starts]
            result[columns] = np.logaddexp(result[columns], per_column)
        return result

    def _column_statistics(self) -> FloatArray:
        """Each column's drift statistic: the log of the sum of the e-detectors of all its
        alternatives (location, spread, category and shape), the quantity the threshold bounds."""
        result: FloatArray = np.logaddexp(
            self._fixed_statistics(), self._shape_s + self._shape_log_weight
        )
        return result

    def _shape_evidence(self, counts: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Log e-value of ``counts`` under the plug-in alternative (the reference's pseudo-counts
        plus the column's recent counts, decayed over :data:`SHAPE_MEMORY` rows, projected on
        the reference's ball; fixed before ``counts`` is seen), and that alternative's effect
        size."""
        history = self._recent
        self._recent = history * np.exp(-counts.sum(axis=1, keepdims=True) / SHAPE_MEMORY) + counts
        prior = PRIOR_PER_BIN * self._bins[:, None] * self._reference
        q = (history + prior) / (
            history.sum(axis=1, keepdims=True) + prior.sum(axis=1, keepdims=True)
        )
        q = (1 - SMOOTHING) * q + SMOOTHING * self._uniform
        projected = projection(q, self._reference, self._radius)
        occupied = q > 0
        ratio = np.where(
            occupied, np.log(np.where(occupied, q, 1.0) / np.where(occupied, projected, 1.0)), 0.0
        )
        evidence: FloatArray = (counts * ratio).sum(axis=1)
        return evidence, self._drift_effects(q)

    def _drift_effects(self, counts: FloatArray) -> FloatArray:
        """Effect size of each column's ``counts`` (rows) against the reference: the largest
        gap between cumulative bin frequencies for numeric columns (a binned KS statistic), the
        total variation distance for categorical ones; 0 without counts."""
        totals = counts.sum(axis=1, keepdims=True)
        observed = counts / np.where(totals > 0, totals, 1.0)
        gap = observed - self._reference
        ks = np.abs(np.cumsum(gap, axis=1)).max(axis=1)
        tvd = 0.5 * np.abs(gap).sum(axis=1)
        result: FloatArray = np.where(totals[:, 0] > 0, np.where(self._numeric, ks, tvd), 0.0)
        return result

    def _rate_counts(self, increment: Tally) -> tuple[FloatArray, FloatArray]:
        """Events and trials of every rate row in ``increment``, in one pass of indexing."""
        columns = self._rate_columns
        present = increment.samples - increment.missing[columns]
        candidates_events = np.stack(
            [
                increment.missing[columns],
                increment.out_of_range[columns],
                increment.counts[columns, self._bins[columns] - 1],
                np.full(columns.size, increment.unknown_rows),
                np.full(columns.size, increment.errors),
            ]
        )
        candidates_trials = np.stack(
            [
                np.full(columns.size, increment.samples),
                present,
                present,
                np.full(columns.size, increment.samples),
                np.full(columns.size, increment.labeled),
            ]
        )
        pick = np.arange(columns.size)
        events = candidates_events[self._rate_kinds, pick].astype(np.float64)
        trials = candidates_trials[self._rate_kinds, pick].astype(np.float64)
        return events, trials

    def _step_rates(self, increment: Tally, gate: bool, label_gate: bool) -> BoolArray:
        if not self._rates:
            return np.zeros(0, dtype=bool)
        events, trials = self._rate_counts(increment)
        evidence = events[:, None] * self._rate_event + (trials - events)[:, None] * self._rate_miss
        self._rate_s = np.where(self._rate_active > 0, _sr(self._rate_s, evidence), -np.inf)
        self._rate_run += np.stack([events, trials], axis=1)
        best = _log_sum(self._rate_s) + self._rate_log_weight
        crossed: BoolArray = best >= self.threshold
        open_gate = np.where(self._rate_kinds == KIND_CODES["error-rate"], label_gate, gate)
        decided = crossed & open_gate
        # Every rate alternative that is run rises at least min_effect above the reference.
        self._rate_alarm |= decided
        restart = decided | (best <= 0.0)
        self._rate_s[decided] = -np.inf
        self._rate_run[restart] = 0.0
        self._rate_quiet = np.where(crossed, 0.0, self._rate_quiet + trials)
        return crossed

    def _rate_effects(self, runs: FloatArray) -> FloatArray:
        """Rise of each rate over its reference rate in ``runs`` (events, trials per row)."""
        trials = runs[:, 1]
        rates = runs[:, 0] / np.where(trials > 0, trials, 1.0)
        result: FloatArray = np.where(trials > 0, rates - self._rate_reference, 0.0)
        return result

    def _step_metric(self, window: Window | None) -> None:
        performance = self.settings.performance
        if performance is None or window is None:
            return
        if not self._metric_alarm:
            strict = replace(
                performance, confidence=max(performance.confidence, self._look_confidence)
            )
            self._metric_alarm = assess(window.labels, strict).degraded
            return
        result = assess(window.labels, performance)
        if result.samples >= performance.min_labeled_samples and result.value is not None:
            good = (
                result.lower_bound is not None and result.lower_bound >= performance.threshold
                if performance.metric in HIGHER_IS_BETTER
                else result.upper_bound is not None and result.upper_bound <= performance.threshold
            )
            if good:
                self._metric_alarm = False

    def _recover(self, window: Window | None) -> None:
        if window is None:
            return
        length = float(self.settings.window.samples)
        calm = self._drift_effects(self._window_counts(window)) < self.floor
        self._drift_alarm &= ~((self._drift_quiet >= length) & calm)
        labels = float(
            self.settings.performance.min_labeled_samples if self.settings.performance else 0
        )
        needed = np.where(self._rate_kinds == KIND_CODES["error-rate"], labels, length)
        events, trials = self._rate_counts(Tally.of_window(window))
        calm_rates = self._rate_effects(np.stack([events, trials], axis=1)) < self.floor
        self._rate_alarm &= ~((self._rate_quiet >= needed) & calm_rates)

    def _window_counts(self, window: Window | None) -> FloatArray:
        padded = np.zeros((len(self.profiles), self._widest))
        if window is not None:
            padded[:, : window.counts.shape[1]] = window.counts
        return padded

    # -- deciding ---------------------------------------------------------------------------

    def _decide(
        self,
        window: Window | None,
        crossed_columns: BoolArray,
        crossed_rates: BoolArray,
        *,
        stepped: bool,
    ) -> Decision:
        statistics = np.maximum(self._column_statistics(), 0.0)
        signals = self._signals(window, statistics, crossed_columns, crossed_rates)
        evidence = float(np.max(statistics[self._watched], initial=0.0))
        enough = window is not None and window.samples >= self.settings.window.min_samples
        features = [
            i
            for i in range(len(self.profiles))
            if self._watched[i]
            and i not in (self._prediction, self._multivariate)
            and i not in self._embedding
        ]
        drifted = tuple(self.profiles[i].name for i in features if self._drift_alarm[i])
        share = len(drifted) / len(features) if features else 0.0
        prediction = self._prediction is not None and bool(self._drift_alarm[self._prediction])
        multivariate = self._multivariate is not None and bool(
            self._drift_alarm[self._multivariate]
        )
        embeddings = tuple(
            dict.fromkeys(
                self.profiles[i].name.split("/")[1]
                for i in sorted(self._embedding)
                if self._drift_alarm[i]
            )
        )
        drift_settings = self.settings.drift
        by_share = bool(drifted) and share >= drift_settings.drift_share
        drifting = by_share or prediction or multivariate or bool(embeddings)
        verdict: Verdict = "ok"
        if drifting:
            verdict = "drift"
        elif drifted and share >= (drift_settings.warning_share or 0.0):
            verdict = "warning"
        summary = f"{len(drifted)} of {len(features)} features drifted (share {share:.2f})"
        if drifted:
            summary += ": " + ", ".join(drifted)
        if drifting:
            reason = "Drift"
            if not by_share:
                reason = (
                    "PredictionDrift"
                    if prediction
                    else "MultivariateDrift"
                    if multivariate
                    else "EmbeddingDrift"
                )
            notes = ("; predictions drifted" if prediction else "") + (
                "; the features' joint distribution drifted (PCA reconstruction error)"
                if multivariate
                else ""
            )
            if embeddings:
                notes += "; embedding drifted: " + ", ".join(embeddings)
            drift = ConditionState("True", reason, summary + notes)
        elif not enough:
            samples = 0 if window is None else window.samples
            drift = ConditionState(
                "Unknown",
                "NotEnoughData",
                f"{samples} samples in the window, {self.settings.window.min_samples} needed",
            )
        else:
            drift = ConditionState("False", "BelowDriftShare" if drifted else "NoDrift", summary)
        return Decision(
            drift=drift,
            performance=self._performance_condition(window),
            quality=self._quality_condition(window, enough),
            verdict=verdict,
            share=share,
            drifted=drifted,
            prediction_drifted=prediction,
            multivariate_drifted=multivariate,
            embeddings_drifted=embeddings,
            drift_evidence=evidence,
            make_signals=signals,
            threshold=self.threshold,
            alternatives=self.alternatives,
            stepped=stepped,
        )

    def _signals(
        self,
        window: Window | None,
        statistics: FloatArray,
        crossed_columns: BoolArray,
        crossed_rates: BoolArray,
    ) -> Callable[[], tuple[SignalResult, ...]]:
        """A snapshot of the step's detector state (``statistics``: each column's, clipped at
        0, a fresh array), turned into results when asked."""
        run = self._run.copy()
        window_counts = self._window_counts(window)
        drift_alarm = self._drift_alarm.copy()
        rate_run = self._rate_run.copy()
        rate_statistics = np.maximum(_log_sum(self._rate_s) + self._rate_log_weight, 0.0)
        rate_alarm = self._rate_alarm.copy()
        threshold = self.threshold
        estimated = self._estimated_signal(window)

        def build() -> tuple[SignalResult, ...]:
            open_run = run.sum(axis=1) > 0
            effects = self._drift_effects(np.where(open_run[:, None], run, window_counts))
            results = [
                SignalResult(
                    profile.name,
                    profile.name,
                    (
                        "multivariate"
                        if i == self._multivariate
                        else "embedding"
                        if i in self._embedding
                        else "drift"
                    ),
                    "DriftDetected",
                    float(statistics[i]),
                    threshold,
                    float(effects[i]),
                    bool(crossed_columns[i]),
                    bool(drift_alarm[i]),
                )
                for i, profile in enumerate(self.profiles)
                if self._watched[i]
            ]
            rate_effects = self._rate_effects(rate_run)
            results.extend(
                SignalResult(
                    row.name,
                    self.profiles[row.column].name if row.column >= 0 else None,
                    row.kind,
                    "PerformanceDegraded" if row.kind == "error-rate" else "DataQualityDegraded",
                    float(rate_statistics[r]),
                    threshold,
                    float(rate_effects[r]),
                    bool(crossed_rates[r]),
                    bool(rate_alarm[r]),
                )
                for r, row in enumerate(self._rates)
            )
            results.extend(estimated)
            return tuple(results)

        return build

    def _estimated_signal(self, window: Window | None) -> list[SignalResult]:
        detector = self.estimated
        if detector is None:
            return []
        sketch = None if window is None else window.estimation
        rise = 0.0
        if sketch is not None and sketch.rows:
            rise = 1 - float(np.trace(sketch.expected)) / sketch.rows - detector.reference_rate
        return [
            SignalResult(
                "estimated-error-rate",
                None,
                "estimated-error-rate",
                "PerformanceDegraded",
                detector.statistic,
                self.threshold,
                rise,
                detector.statistic >= self.threshold,
                detector.alarmed,
            )
        ]

    def _performance_condition(self, window: Window | None) -> ConditionState | None:
        performance = self.settings.performance
        if performance is None:
            return None
        result = None if window is None else assess(window.labels, performance)
        errors = [r for r, row in enumerate(self._rates) if row.kind == "error-rate"]
        shifted = any(self._rate_alarm[r] for r in errors)
        text = (
            "no labeled predictions in the window"
            if result is None or result.value is None
            else f"{result.metric} {result.value:.4f} over {result.samples} labels"
        )
        if self._metric_alarm:
            return ConditionState(
                "True", "ThresholdCrossed", f"{text}; its bound crossed {performance.threshold}"
            )
        if shifted:
            row = self._rates[errors[0]]
            return ConditionState(
                "True",
                "ErrorRateShift",
                f"{text}; the error rate rose above the reference's {row.reference_rate:.4f}",
            )
        if self.estimated is not None and self.estimated.alarmed:
            sketch = None if window is None else window.estimation
            return ConditionState("True", ESTIMATED_REASON, self.estimated.message(sketch))
        if result is None or result.value is None:
            return ConditionState("Unknown", "NoLabels", text)
        if result.samples < performance.min_labeled_samples:
            return ConditionState(
                "Unknown", "NotEnoughLabels", f"{text}, {performance.min_labeled_samples} needed"
            )
        return ConditionState(
            "False", "WithinThreshold", f"{text}; threshold {performance.threshold}"
        )

    def _quality_condition(self, window: Window | None, enough: bool) -> ConditionState:
        alarmed = [
            (r, row)
            for r, row in enumerate(self._rates)
            if self._rate_alarm[r] and row.kind != "error-rate"
        ]
        if alarmed:
            first = alarmed[0][1]
            reason = _QUALITY_REASONS[first.kind]
            if (
                first.kind == "missing"
                and window is not None
                and window.samples
                and window.missing[first.column] == window.samples
            ):
                reason = "FeatureAbsent"
            # The window's events and trials of every rate, once for all the alarmed ones.
            counts = None if window is None else self._rate_counts(Tally.of_window(window))
            described = ", ".join(self._describe(r, row, window, counts) for r, row in alarmed)
            return ConditionState("True", reason, described)
        if not enough:
            return ConditionState("Unknown", "NotEnoughData", "too few samples in the window")
        return ConditionState(
            "False",
            "WithinReference",
            "missing, out-of-range and unseen values as in the reference",
        )

    def _describe(
        self,
        r: int,
        row: RateRow,
        window: Window | None,
        counts: tuple[FloatArray, FloatArray] | None,
    ) -> str:
        if row.kind == "unknown-columns":
            names = ", ".join(window.unknown_names) if window is not None else ""
            return f"columns the baseline does not know{': ' + names if names else ''}"
        name = self.profiles[row.column].name
        words = {
            "missing": "missing values",
            "out-of-range": "values outside the training range",
            "unseen-categories": "categories unseen in training",
        }[row.kind]
        observed = ""
        if counts is not None and counts[1][r] > 0:
            events, trials = counts
            observed = f" in {events[r] / trials[r]:.1%} of {int(trials[r])} window rows,"
        return f"{name}: {words}{observed} above the reference's {row.reference_rate:.1%}"


def _sr(log_detector: FloatArray, log_evidence: FloatArray) -> FloatArray:
    """One step of the Shiryaev-Roberts e-detector in logs: ``R = (1 + R) E``, i.e. the sum over
    every start time of the product of the e-values since (``R = 0``, log -inf, at the start)."""
    result: FloatArray = np.logaddexp(0.0, log_detector) + log_evidence
    return result


def _log_sum(log_values: FloatArray) -> FloatArray:
    """``log(sum(exp(row)))`` per row; -inf for an empty or all -inf row."""
    peak = log_values.max(axis=1, initial=-np.inf)
    shift = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):
        result: FloatArray = np.where(
            np.isfinite(peak),
            shift + np.log(np.exp(log_values - shift[:, None]).sum(axis=1)),
            -np.inf,
        )
    return result
