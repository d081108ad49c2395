"""One monitor's engine with the per-Pod bookkeeping that feeds it: what the operator keeps.

A :class:`Session` turns a round's reads (each Pod's cumulative tally, the merged window) into a
:class:`~kubedrift.stats.engine.engine.Decision`. :meth:`Session.renewed` is how a changed spec or
baseline is taken in: the same baseline keeps the Pods' last tallies (nothing is counted twice);
a new baseline, the rollout of a retrained model, starts from nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from kubedrift.stats.baseline import Baseline
from kubedrift.stats.engine.contract import Contract
from kubedrift.stats.engine.engine import Decision, Engine
from kubedrift.stats.engine.increments import Increments
from kubedrift.stats.engine.tally import Tally
from kubedrift.stats.settings import EvaluationSettings
from kubedrift.stats.window import Window


class Session:
    """An :class:`Engine` and the :class:`Increments` that feed it."""

    __slots__ = ("engine", "increments")

    def __init__(
        self,
        baseline: Baseline,
        settings: EvaluationSettings,
        contract: Contract,
        increments: Increments | None = None,
    ) -> None:
        self.engine = Engine(baseline, settings, contract)
        self.increments = increments if increments is not None else Increments()

    def fits(self, baseline: Baseline, settings: EvaluationSettings, contract: Contract) -> bool:
        engine = self.engine
        return (engine.baseline is baseline or engine.baseline == baseline) and (
            engine.settings,
            engine.contract,
        ) == (settings, contract)

    def renewed(
        self, baseline: Baseline, settings: EvaluationSettings, contract: Contract
    ) -> Session:
        """This session if it fits, else a new engine (keeping the Pods' tallies when the
        baseline is the same)."""
        if self.fits(baseline, settings, contract):
            return self
        same = self.engine.baseline is baseline or self.engine.baseline == baseline
        return Session(baseline, settings, contract, self.increments if same else None)

    def decide(
        self, tallies: Mapping[str, Tally], window: Window | None, *, now: float
    ) -> Decision:
        return self.engine.step(self.increments.take(tallies), window, now=now)
