"""What every engine over one baseline, settings and contract computes the same way, once.

An :class:`~kubedrift.stats.engine.engine.Engine` needs, besides its detector statistics, tables
derived from the baseline, the settings and the contract alone: the reference frequencies, the
confidence radius of each column, the log e-value weights of every alternative per bin (the
largest table: columns x bins x tilts), the rate rows and their bounds, the threshold. They do not
change while the engine runs, and monitors that share a baseline (the operator parses each
distinct baseline once and hands every monitor the same object) and a spec share them too, so an
:class:`EnginePlan` holds them, read-only, and :meth:`EnginePlan.shared` returns one plan per
(baseline object, settings, contract) while it is in use. An engine then keeps only its own state:
at 1,000 monitors over one baseline this is most of what the engine costs in memory.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from kubedrift.stats.baseline import Baseline, FeatureProfile
from kubedrift.stats.binning import FloatArray, IntArray
from kubedrift.stats.engine.alternatives import (
    CATEGORY_TILTS,
    LOCATION_TILTS,
    RATE_STEPS,
    SPREAD_TILTS,
    bin_weights,
    category_weights,
    normal_scores,
    rate_alternatives,
    rate_weights,
    tilts,
)
from kubedrift.stats.engine.contract import Contract
from kubedrift.stats.engine.estimated import ALTERNATIVES as ESTIMATED_ALTERNATIVES
from kubedrift.stats.engine.reference import kl_radius, outside_mass_upper_bound, rate_upper_bound
from kubedrift.stats.evaluation import DEFAULT_MIN_EFFECT
from kubedrift.stats.settings import EvaluationSettings

BoolArray = np.ndarray[tuple[int], np.dtype[np.bool_]]
RateKind = Literal["missing", "out-of-range", "unseen-categories", "unknown-columns", "error-rate"]

#: Relative weight of a data-quality alternative (missing values, out-of-range values, unseen
#: categories, unknown columns) in the budget, against 1 for every drift and error-rate one:
#: data-quality changes are usually large (a column that goes missing), and a smaller share
#: leaves a larger one to the drift and performance signals (see ``EnginePlan.budget``).
DATA_QUALITY_WEIGHT = 0.1

#: Weight of a column's plug-in shape alternative relative to the column's fixed alternatives
#: together (its location, spread or category tilts), numeric and categorical columns; at least
#: 1 (a column without fixed alternatives). The fixed tilts earn from the first row but only on
#: the changes they anticipate; the plug-in finds any change at a learning cost, and one category
#: tilt rarely matches a change that moves several categories at once (see ``EnginePlan.budget``).
SHAPE_WEIGHT_NUMERIC = 0.0
SHAPE_WEIGHT_CATEGORICAL = 1.0
#: Share of the budget the error rate from labels takes when it is watched: a monitor answers two
#: questions, has the traffic moved and has the accuracy dropped, and the error rate (one signal
#: of a few alternatives) would otherwise get a sliver of a budget sized by the features' many
#: drift alternatives. Its alternatives weigh ``PERFORMANCE_SHARE / (1 - PERFORMANCE_SHARE)``
#: times every other alternative together, shared equally (see ``EnginePlan.budget``).
PERFORMANCE_SHARE = 0.5

#: Position of each rate kind in the engine's candidate rows of events and trials.
KIND_CODES: dict[str, int] = {
    "missing": 0,
    "out-of-range": 1,
    "unseen-categories": 2,
    "unknown-columns": 3,
    "error-rate": 4,
}


@dataclass(frozen=True)
class RateRow:
    """One Bernoulli rate the engine watches."""

    kind: RateKind
    column: int  # index into the plan's profiles; -1 for the whole monitor
    name: str
    reference_rate: float


@dataclass(frozen=True, eq=False)
class EnginePlan:
    """The read-only tables of an engine; build one with :meth:`build` or :meth:`shared`."""

    baseline: Baseline
    settings: EvaluationSettings
    contract: Contract
    #: Every tracked column in order; the prediction, when profiled, is the last one.
    profiles: tuple[FeatureProfile, ...]
    prediction: int | None
    #: Position of the multivariate reconstruction error (``stats.multivariate``), judged as one
    #: more numeric column between the features and the prediction (as in ``WindowPlan``).
    multivariate: int | None
    #: Positions of the embedding blocks' derived columns (``stats.embedding``), after the
    #: multivariate column, each judged as a numeric column.
    embedding: tuple[int, ...]
    #: The practical-significance floor (``drift.minEffect``, or the default).
    floor: float
    widest: int
    bins: IntArray
    #: Reference frequencies per column, padded with zeros to :attr:`widest` bins.
    reference: FloatArray
    #: The uniform distribution over each column's bins (the smoothing of alternatives).
    uniform: FloatArray
    numeric: BoolArray
    #: Columns with drift detectors (present in the reference, not ignored, prediction if asked).
    watched: BoolArray
    rates: tuple[RateRow, ...]
    #: Each column's KL radius around its reference frequencies (``reference.kl_radius``).
    radius: FloatArray
    #: Log e-value per bin of every location and spread tilt: columns x bins x tilts.
    tilt_weights: FloatArray
    #: 1 where a tilt can earn evidence (outside the radius), per column and tilt.
    tilt_active: IntArray
    #: Effect size of each tilt (its largest cumulative gap to the reference).
    tilt_effects: FloatArray
    #: One row per category of every watched categorical column (the "other" bin excluded):
    #: its column, its bin, and per category tilt the log e-value of a row of the category and
    #: of any other row, whether it can earn evidence, and its effect size.
    category_columns: IntArray
    category_bins: IntArray
    category_event: FloatArray
    category_miss: FloatArray
    category_active: IntArray
    category_effects: FloatArray
    rate_columns: IntArray
    rate_kinds: IntArray
    rate_reference: FloatArray
    #: Rise of each rate alternative over its reference rate: rates x steps.
    rate_alternative_effects: FloatArray
    #: Log e-value per event and per non-event of each rate alternative: rates x steps.
    rate_event: FloatArray
    rate_miss: FloatArray
    #: 1 where a rate alternative is run: its rise is at least the floor (rates x steps).
    rate_active: IntArray
    #: Alternatives sharing the budget, and the threshold each must reach.
    alternatives: int
    threshold: float
    #: ``W``, the alternatives counted by weight (:data:`DATA_QUALITY_WEIGHT` for data-quality
    #: ones, 1 for the others); the threshold is ``ln(W T / interval)``.
    budget: float
    #: Log of each rate row's weight, added to its statistic before the threshold.
    rate_log_weight: FloatArray
    #: Log of each column's plug-in shape alternative's weight (``SHAPE_WEIGHT_*``).
    shape_log_weight: FloatArray
    #: Confidence of the windowed metric's look (one alternative's share of the budget).
    look_confidence: float
    #: The level of each reference confidence set (``reference_risk`` over the sets).
    delta: float = 1.0
    #: Whether the error rate estimated without labels is watched (``performance.estimated``
    #: and a baseline with calibration maps; its alternatives are counted in :attr:`alternatives`).
    estimating: bool = False

    #: Plans kept by :meth:`shared`, least recently used dropped first.
    CAPACITY: ClassVar[int] = 256
    _shared: ClassVar[OrderedDict[tuple[int, EvaluationSettings, Contract], EnginePlan]] = (
        OrderedDict()
    )

    @classmethod
    def shared(
        cls, baseline: Baseline, settings: EvaluationSettings, contract: Contract
    ) -> EnginePlan:
        """The plan for this baseline object, settings and contract: built on first use, then
        the same object for every engine that asks while it is among the :attr:`CAPACITY` most
        recently used. (A cached plan holds its baseline, so the object's id cannot be reused
        by another baseline while the plan is cached.)"""
        key = (id(baseline), settings, contract)
        plan = cls._shared.get(key)
        if plan is not None and plan.baseline is baseline:
            cls._shared.move_to_end(key)
            return plan
        plan = cls.build(baseline, settings, contract)
        cls._shared[key] = plan
        while len(cls._shared) > cls.CAPACITY:
            cls._shared.popitem(last=False)
        return plan

    def fits(self, baseline: Baseline, settings: EvaluationSettings, contract: Contract) -> bool:
        return self.baseline is baseline and (self.settings, self.contract) == (settings, contract)

    @classmethod
    def build(
        cls, baseline: Baseline, settings: EvaluationSettings, contract: Contract
    ) -> EnginePlan:
        profiles = list(baseline.features)
        fit = baseline.multivariate
        multivariate = len(profiles) if fit is not None else None
        if fit is not None:
            profiles.append(fit.profile)
        derived = [p for block in baseline.embeddings for p in block.profiles]
        embedding = tuple(range(len(profiles), len(profiles) + len(derived)))
        profiles.extend(derived)
        if baseline.prediction is not None:
            profiles.append(baseline.prediction)
        prediction = len(profiles) - 1 if baseline.prediction is not None else None
        size = len(profiles)
        widest = max((len(p.counts) for p in profiles), default=1)
        bins = np.array([len(p.counts) for p in profiles], dtype=np.int64)
        reference = np.zeros((size, widest))
        for i, p in enumerate(profiles):
            reference[i, : len(p.counts)] = p.probabilities()
        uniform = np.where(np.arange(widest)[None, :] < bins[:, None], 1.0 / bins[:, None], 0.0)
        numeric = np.array([p.type == "numeric" for p in profiles], dtype=bool)
        ignored = {o.name for o in settings.drift.features if o.ignore}
        watched_list = [
            p.present > 0 and p.name not in ignored and sum(p.counts) > 0 for p in profiles
        ]
        if prediction is not None and not settings.drift.prediction:
            watched_list[prediction] = False
        if (
            multivariate is not None
            and fit is not None
            and (not settings.drift.multivariate or ignored.intersection(fit.features))
        ):
            # An ignored feature has no say, and the reconstruction error would see it.
            watched_list[multivariate] = False
        if not settings.drift.embeddings:
            for i in embedding:
                watched_list[i] = False
        watched = np.array(watched_list, dtype=bool)
        rates = _rate_rows(baseline, settings, profiles, multivariate, embedding)
        estimating = (
            settings.performance is not None
            and settings.performance.estimated
            and baseline.calibration is not None
        )
        # The reference's risk is shared by every confidence set: one per watched column, one
        # per rate, and one for the estimated error rate when it is watched.
        delta = contract.reference_risk / max(int(watched.sum()) + len(rates) + int(estimating), 1)
        radius = np.array([kl_radius(len(p.counts), int(sum(p.counts)), delta) for p in profiles])
        floor = (
            DEFAULT_MIN_EFFECT if settings.drift.min_effect is None else settings.drift.min_effect
        )
        tilt_weights, tilt_active, tilt_effects = _tilt_table(
            profiles, reference, numeric & watched, radius, widest, floor=floor
        )
        categories = _category_table(profiles, reference, ~numeric & watched, radius, floor)
        upper = np.array([_upper(row, profiles, baseline, delta) for row in rates])
        steps = len(RATE_STEPS)
        rate_reference = np.array([row.reference_rate for row in rates])
        per_event, per_miss = (
            zip(*(rate_weights(u) for u in upper), strict=True) if rates else ((), ())
        )
        rate_alternative_effects = (
            np.array([rate_alternatives(u) for u in upper]).reshape(len(rates), steps)
            - rate_reference[:, None]
        )
        # An alternative below the practical-significance floor could only ever raise an
        # unconfirmed crossing: it is not run and takes no share of the budget.
        rate_active = (rate_alternative_effects >= floor).astype(np.int64)
        is_error = np.array([row.kind == "error-rate" for row in rates], dtype=bool)
        rate_weight = np.where(is_error, 1.0, DATA_QUALITY_WEIGHT)
        fixed_per_column = tilt_active.sum(axis=1) + np.bincount(
            categories[0], weights=categories[4].sum(axis=1), minlength=len(profiles)
        )
        shape_weight = np.where(
            watched,
            np.maximum(
                1.0,
                np.where(numeric, SHAPE_WEIGHT_NUMERIC, SHAPE_WEIGHT_CATEGORICAL)
                * fixed_per_column,
            ),
            0.0,
        )
        drift_alternatives = (
            int(tilt_active.sum())
            + int(categories[4].sum())
            + int(watched.sum())
            + int(settings.performance is not None)
            + (ESTIMATED_ALTERNATIVES if estimating else 0)
        )
        alternatives = drift_alternatives + int(rate_active.sum())
        others = (
            drift_alternatives
            - int(watched.sum())
            + float(shape_weight.sum())
            + float(rate_active[~is_error].sum(axis=1) @ rate_weight[~is_error])
        )
        error_alternatives = float(rate_active[is_error].sum())
        if error_alternatives:
            # The error rate's alternatives take PERFORMANCE_SHARE of the whole budget together.
            rate_weight = np.where(
                is_error,
                others * PERFORMANCE_SHARE / (1 - PERFORMANCE_SHARE) / error_alternatives,
                rate_weight,
            )
        budget = others + float(rate_active[is_error].sum(axis=1) @ rate_weight[is_error])
        plan = cls(
            baseline=baseline,
            settings=settings,
            contract=contract,
            profiles=tuple(profiles),
            prediction=prediction,
            multivariate=multivariate,
            embedding=embedding,
            floor=floor,
            widest=widest,
            bins=bins,
            reference=reference,
            uniform=uniform,
            numeric=numeric,
            watched=watched,
            rates=tuple(rates),
            radius=radius,
            tilt_weights=tilt_weights,
            tilt_active=tilt_active,
            tilt_effects=tilt_effects,
            category_columns=categories[0],
            category_bins=categories[1],
            category_event=categories[2],
            category_miss=categories[3],
            category_active=categories[4],
            category_effects=categories[5],
            rate_columns=np.array([max(row.column, 0) for row in rates], dtype=np.int64),
            rate_kinds=np.array([KIND_CODES[row.kind] for row in rates], dtype=np.int64),
            rate_reference=rate_reference,
            rate_alternative_effects=rate_alternative_effects,
            rate_event=np.array(per_event).reshape(len(rates), steps),
            rate_miss=np.array(per_miss).reshape(len(rates), steps),
            rate_active=rate_active,
            alternatives=alternatives,
            threshold=contract.threshold(budget),
            budget=budget,
            rate_log_weight=np.log(rate_weight),
            shape_log_weight=np.log(np.where(watched, shape_weight, 1.0)),
            look_confidence=1 - 2 * contract.look_level(budget),
            delta=delta,
            estimating=estimating,
        )
        for value in vars(plan).values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        return plan


def _rate_rows(
    baseline: Baseline,
    settings: EvaluationSettings,
    profiles: list[FeatureProfile],
    multivariate: int | None = None,
    embedding: tuple[int, ...] = (),
) -> list[RateRow]:
    rows: list[RateRow] = []
    for i, p in enumerate(profiles):
        if i == multivariate:
            continue  # its missing rows are the features' (see ``stats.multivariate``)
        if i in embedding:
            # A block's rows are missing in all its derived columns at once: its norm alone
            # counts them. Values beyond the reference's range are the drift signals' business.
            if settings.drift.embeddings and p.name.endswith("/norm") and p.count > 0:
                rows.append(RateRow("missing", i, f"{p.name}/missing", p.missing_rate))
            continue
        if p.count > 0:
            rows.append(RateRow("missing", i, f"{p.name}/missing", p.missing_rate))
        if p.present == 0:
            continue
        if p.type == "numeric":
            rows.append(RateRow("out-of-range", i, f"{p.name}/out-of-range", 0.0))
        else:
            rows.append(RateRow("unseen-categories", i, f"{p.name}/unseen", p.out_of_range_rate))
    rows.append(RateRow("unknown-columns", -1, "unknown-columns", 0.0))
    error = baseline.performance.get("error-rate")
    if (
        settings.performance is not None
        and baseline.task == "classification"
        and error is not None
        and baseline.prediction is not None
    ):
        rows.append(RateRow("error-rate", -1, "error-rate", error))
    return rows


def _upper(row: RateRow, profiles: list[FeatureProfile], baseline: Baseline, delta: float) -> float:
    """Upper confidence bound of the reference's rate for ``row``."""
    if row.column >= 0:
        profile = profiles[row.column]
        if row.kind == "missing":
            return rate_upper_bound(profile.missing, profile.count, delta)
        if row.kind == "out-of-range":
            return outside_mass_upper_bound(profile.present, delta)
        return rate_upper_bound(profile.counts[-1], profile.present, delta)
    rows = profiles[0].count if profiles else 0
    if row.kind == "unknown-columns":
        return rate_upper_bound(0, rows, delta)
    assert baseline.prediction is not None
    labeled = baseline.prediction.present
    return rate_upper_bound(round(row.reference_rate * labeled), labeled, delta)


def _tilt_table(
    profiles: list[FeatureProfile],
    reference: FloatArray,
    tilted: BoolArray,
    radius: FloatArray,
    widest: int,
    *,
    floor: float,
) -> tuple[FloatArray, IntArray, FloatArray]:
    """Weights, activity and effect of every location and spread tilt of the ``tilted``
    columns (the watched numeric ones). A tilt is run when it lies outside the reference's ball
    and at least ``floor`` from the reference."""
    thetas = np.array(
        [
            *LOCATION_TILTS,
            *(-t for t in LOCATION_TILTS),
            *SPREAD_TILTS,
            *(-t for t in SPREAD_TILTS),
        ]
    )
    location = 2 * len(LOCATION_TILTS)
    size = len(profiles)
    weights = np.zeros((size, widest, thetas.size))
    active = np.zeros((size, thetas.size), dtype=np.int64)
    effects = np.zeros((size, thetas.size))
    for i, p in enumerate(profiles):
        if not tilted[i]:
            continue
        bins = len(p.counts)
        probabilities = reference[i, :bins]
        location_scores, spread_scores = normal_scores(probabilities)
        for scores, part in (
            (location_scores, slice(0, location)),
            (spread_scores, slice(location, thetas.size)),
        ):
            if not scores.any():
                continue
            q = tilts(probabilities, scores, thetas[part])
            w = bin_weights(q, probabilities, float(radius[i]))
            gaps = np.cumsum(q - probabilities[None, :], axis=1)
            effects[i, part] = np.abs(gaps).max(axis=1)
            active[i, part] = w.any(axis=1) & (effects[i, part] >= floor)
            weights[i, :bins, part] = w.T
    return weights, active, effects


def _category_table(
    profiles: list[FeatureProfile],
    reference: FloatArray,
    tilted: BoolArray,
    radius: FloatArray,
    floor: float,
) -> tuple[IntArray, IntArray, FloatArray, FloatArray, IntArray, FloatArray]:
    """Columns, bins, event and miss weights, activity and effects of every category tilt of
    the ``tilted`` columns (the watched categorical ones; see ``alternatives``). A tilt is run
    when it lies outside the ball and moves the category's share by at least ``floor``."""
    columns: list[int] = []
    bins: list[int] = []
    event: list[FloatArray] = []
    miss: list[FloatArray] = []
    effects: list[FloatArray] = []
    for i, p in enumerate(profiles):
        if not tilted[i]:
            continue
        # The last bin is "other" (the unseen-category rate watches it). With two categories,
        # raising one is lowering the other: the first one's tilts cover both directions.
        named = len(p.counts) - 1
        for b in range(1 if named == 2 else named):
            share = float(reference[i, b])
            if not 0.0 < share < 1.0:
                continue
            up, down, effect = category_weights(share, float(radius[i]))
            columns.append(i)
            bins.append(b)
            event.append(up)
            miss.append(down)
            effects.append(effect)
    width = 2 * len(CATEGORY_TILTS)
    event_table = np.array(event).reshape(len(columns), width)
    miss_table = np.array(miss).reshape(len(columns), width)
    effect_table = np.array(effects).reshape(len(columns), width)
    active = (((event_table != 0) | (miss_table != 0)) & (effect_table >= floor)).astype(np.int64)
    return (
        np.array(columns, dtype=np.int64),
        np.array(bins, dtype=np.int64),
        event_table,
        miss_table,
        active,
        effect_table,
    )
