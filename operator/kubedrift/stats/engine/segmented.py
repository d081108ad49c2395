"""The engines of a monitor's segments (``stats.segments``): one :class:`Session` per segment.

Each judged segment has its own :class:`~kubedrift.stats.engine.session.Session` over the
segment's reference (``Baseline.segments``), stepped on the increments of that segment's
cumulative tallies (each Pod's, as the monitor's own) and gated by that segment's window, at the
segment's share of the false-alarm budget (``stats.segments.split_contract``). A segment's
decision never sets the monitor's conditions: it is reported next to them (``status.segments``,
the ``kubedrift_monitor_segment_*`` metrics, the backtest's ``segments``).

A segment's windows carry the monitor's calibration maps (``stats.segments.segment_references``),
so each decision also holds the segment's performance estimated without labels
(:attr:`SegmentDecision.estimated`), reported only: a segment's engine watches no estimated
error rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubedrift.stats.baseline import Baseline
from kubedrift.stats.engine.contract import Contract
from kubedrift.stats.engine.engine import Decision
from kubedrift.stats.engine.session import Session
from kubedrift.stats.engine.tally import Tally
from kubedrift.stats.estimates import SideBySide, estimated_dict, side_by_side
from kubedrift.stats.performance import PerformanceResult, assess
from kubedrift.stats.segments import SegmentSelection, split_contract
from kubedrift.stats.settings import EvaluationSettings
from kubedrift.stats.window import Window


@dataclass(frozen=True)
class SegmentDecision:
    """One segment after a round: its window's rows and labels, the engine's decision
    (``None`` for a listed value the baseline holds no profile for) and its metric."""

    value: str
    samples: int
    labeled: int
    decision: Decision | None
    performance: PerformanceResult | None
    min_samples: int
    #: Metrics estimated without labels from the segment's class probabilities, next to the
    #: realized ones (``stats.estimates``); empty without calibration maps or probabilities.
    estimated: Mapping[str, SideBySide] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """``noreference``, ``nodata`` (too few rows and no alarm), else the engine's verdict."""
        decision = self.decision
        if decision is None:
            return "noreference"
        alarmed = decision.drift.status == "True" or (
            decision.performance is not None and decision.performance.status == "True"
        )
        if self.samples < self.min_samples and not alarmed:
            return "nodata"
        return decision.verdict

    @property
    def drifted(self) -> bool:
        return self.decision is not None and self.decision.drift.status == "True"

    @property
    def degraded(self) -> bool:
        decision = self.decision
        return (
            decision is not None
            and decision.performance is not None
            and decision.performance.status == "True"
        )

    @property
    def evidence(self) -> float:
        """The largest statistic (log e-value) of the segment's drift detectors."""
        return 0.0 if self.decision is None else self.decision.drift_evidence

    def to_dict(self) -> dict[str, Any]:
        """The backtest's ``evaluations[].segments[]`` entry."""
        decision = self.decision
        performance = self.performance
        return {
            "value": self.value,
            "samples": self.samples,
            "labeled": self.labeled,
            "verdict": self.verdict,
            "drifted": self.drifted,
            "drifted_features": list(decision.drifted) if decision else [],
            "prediction_drifted": bool(decision and decision.prediction_drifted),
            "share": decision.share if decision else 0.0,
            "evidence": self.evidence,
            "threshold": decision.threshold if decision else None,
            "degraded": self.degraded,
            "performance": None
            if performance is None or performance.value is None
            else {
                "metric": performance.metric,
                "value": performance.value,
                "lower_bound": performance.lower_bound,
                "upper_bound": performance.upper_bound,
                "samples": performance.samples,
            },
        } | ({"estimated_performance": estimated_dict(self.estimated)} if self.estimated else {})


class SegmentSessions:
    """The segments' sessions of one monitor; :meth:`renewed` takes in a changed spec or
    baseline as :meth:`Session.renewed` does, per segment."""

    def __init__(
        self,
        baseline: Baseline,
        settings: EvaluationSettings,
        contract: Contract,
        selection: SegmentSelection,
        previous: SegmentSessions | None = None,
    ) -> None:
        """``contract`` is the monitor's (``spec.evaluation``); each segment gets its share."""
        self.baseline = baseline
        self.settings = settings
        self.contract = contract
        self.selection = selection
        self.judged, self.missing = selection.chosen(baseline)
        each = split_contract(contract, len(self.judged))[1]
        profiles = baseline.segments
        self.sessions: dict[str, Session] = {}
        for value in self.judged:
            assert profiles is not None  # judged values come from the profiles
            reference = profiles.baseline(value)
            assert reference is not None
            old = None if previous is None else previous.sessions.get(value)
            self.sessions[value] = (
                Session(reference, settings, each)
                if old is None
                else old.renewed(reference, settings, each)
            )

    def fits(
        self,
        baseline: Baseline,
        settings: EvaluationSettings,
        contract: Contract,
        selection: SegmentSelection,
    ) -> bool:
        return (self.baseline is baseline or self.baseline == baseline) and (
            self.settings,
            self.contract,
            self.selection,
        ) == (settings, contract, selection)

    def renewed(
        self,
        baseline: Baseline,
        settings: EvaluationSettings,
        contract: Contract,
        selection: SegmentSelection,
    ) -> SegmentSessions:
        if self.fits(baseline, settings, contract, selection):
            return self
        return SegmentSessions(baseline, settings, contract, selection, previous=self)

    @property
    def threshold(self) -> float:
        """The segments' threshold (log e-value) of their first session; 0 without any."""
        first = next(iter(self.sessions.values()), None)
        return first.engine.threshold if first is not None else 0.0

    def decide(
        self,
        tallies: Mapping[str, Mapping[str, Tally]],
        windows: Mapping[str, Window | None],
        *,
        now: float,
    ) -> tuple[SegmentDecision, ...]:
        """Step every judged segment on its Pods' tallies (segment value -> Pod -> tally) and
        the window it reads; the listed values without a profile come last, undecided."""
        performance_settings = self.settings.performance
        confidence = performance_settings.confidence if performance_settings else 0.95
        min_samples = self.settings.window.min_samples
        results = []
        for value, session in self.sessions.items():
            window = windows.get(value)
            decision = session.decide(tallies.get(value, {}), window, now=now)
            performance = (
                assess(window.labels, performance_settings)
                if window is not None and performance_settings is not None
                else None
            )
            results.append(
                SegmentDecision(
                    value,
                    0 if window is None else window.samples,
                    0 if window is None else window.labeled,
                    decision,
                    performance,
                    min_samples,
                    {} if window is None else side_by_side(window, window.baseline, confidence),
                )
            )
        results.extend(
            SegmentDecision(value, 0, 0, None, None, min_samples) for value in self.missing
        )
        return tuple(results)
