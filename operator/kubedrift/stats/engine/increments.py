"""From the cumulative tallies of many sidecars to one increment per engine step.

The operator reads every sidecar's ``cumulative`` tally each round. :class:`Increments` keeps the
last tally read from each Pod and returns what arrived since: per Pod ``tally.since(previous)``
(the whole tally for a Pod seen for the first time, or restarted), added up over Pods. A Pod
that does not answer one round keeps its last tally, so what it collected meanwhile is counted
once, when it answers again; Pods unseen for ``forget_after`` rounds are forgotten (bounded
memory however many Pods come and go).
"""

from __future__ import annotations

from collections.abc import Mapping

from kubedrift.stats.engine.tally import Tally

#: Rounds after which a Pod that stopped answering is forgotten.
FORGET_AFTER = 100


class Increments:
    """Last tally per Pod; :meth:`take` returns what is new."""

    __slots__ = ("_last", "_round", "_seen", "forget_after")

    def __init__(self, forget_after: int = FORGET_AFTER) -> None:
        self.forget_after = forget_after
        self._last: dict[str, Tally] = {}
        self._seen: dict[str, int] = {}
        self._round = 0

    def take(self, tallies: Mapping[str, Tally]) -> Tally | None:
        """The sum of what each Pod's tally added since the previous call (``None`` when no
        Pod answered).

        >>> from kubedrift.stats.baseline import build_baseline
        >>> import numpy as np
        >>> profiles = build_baseline({"x": np.arange(100.0)}).features
        >>> first = Tally.empty(profiles, epoch=1.0)
        >>> later = Tally(1.0, first.names, 7, 0, 0, 0, first.counts, first.missing,
        ...               first.out_of_range)
        >>> increments = Increments()
        >>> increments.take({"pod-a": first}).samples, increments.take({"pod-a": later}).samples
        (0, 7)
        """
        self._round += 1
        total: Tally | None = None
        for pod, tally in tallies.items():
            new = tally.since(self._last.get(pod))
            total = new if total is None else total + new
            self._last[pod] = tally
            self._seen[pod] = self._round
        for pod in [p for p, seen in self._seen.items() if self._round - seen > self.forget_after]:
            del self._last[pod], self._seen[pod]
        return total
