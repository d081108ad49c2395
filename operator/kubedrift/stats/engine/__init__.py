"""The decision engine: sequential detection on the increments of live traffic, one budget.

The operator (on live traffic) and ``kubedrift backtest`` (offline) both feed an
:class:`~kubedrift.stats.engine.engine.Engine` the same thing: the counts that arrived since its
previous step (a :class:`~kubedrift.stats.engine.tally.Tally` increment) and the window users read.
It answers with a :class:`~kubedrift.stats.engine.engine.Decision`: which signals alarm and the
three alarm conditions (drift, performance, data quality). docs/statistics.md ("The false-alarm
contract") has the mathematics; each module's docstring has its part of it.
"""

from kubedrift.stats.engine.contract import Contract
from kubedrift.stats.engine.engine import ConditionState, Decision, Engine, SignalResult
from kubedrift.stats.engine.tally import Tally

__all__ = ["ConditionState", "Contract", "Decision", "Engine", "SignalResult", "Tally"]
