"""Several monitors in one sidecar: one per model served on the port, each with its own window.

A sidecar shared by several ModelMonitors (each watching one model of the same workload,
``spec.target.model``) runs one :class:`~kubedrift.sidecar.monitor.Monitor` per model, with its
own baseline, window, labels and payload naming. :class:`ModelGroup` hands each sampled exchange
to the monitor of the model its path names (one :class:`~kubedrift.sidecar.models.ModelRouting`
for all of them, so every exchange is counted once in ``kubedrift_model_exchanges_total``) and
applies each model's own sampling rate: the proxy samples at the highest rate of the models, and
a model with a lower rate keeps each of its samples with probability ``rate / highest``.

A sidecar with one monitor is a group of one, which behaves exactly like the monitor alone.

>>> ModelGroup.keep_shares((0.05, 0.1))
(0.5, 1.0)
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from kubedrift.payloads import Parsed
from kubedrift.sidecar.models import ModelRouting
from kubedrift.sidecar.monitor import Monitor
from kubedrift.sidecar.sampling import Sample
from kubedrift.sidecar.sidecar_metrics import Metrics

#: A parsed exchange with the index of the monitor (in the group) whose window it feeds.
Routed = tuple[int, list[str], Parsed]


class ModelGroup:
    """The monitors of one sidecar; the first one's model is the default of ``/v1`` requests
    (``kubedrift.sidecar.admin``: ``?model=NAME`` picks another)."""

    def __init__(
        self,
        monitors: Sequence[Monitor],
        sample_rates: Sequence[float] = (),
        rng: random.Random | None = None,
    ) -> None:
        if not monitors:
            raise ValueError("a model group needs at least one monitor")
        self.monitors = tuple(monitors)
        self.primary = self.monitors[0]
        self.metrics: Metrics = self.primary.metrics
        self._keep = self.keep_shares(tuple(sample_rates) or (1.0,) * len(self.monitors))
        self._rng = rng or random.Random()
        self.routing = ModelRouting(
            self.primary.model, others=tuple(str(m.model) for m in self.monitors[1:])
        )

    @staticmethod
    def keep_shares(rates: Sequence[float]) -> tuple[float, ...]:
        """Each model's share of the proxy's samples (its rate over the highest rate)."""
        top = max(rates, default=0.0)
        return tuple(rate / top if top > 0 else 0.0 for rate in rates)

    @property
    def models(self) -> list[str | None]:
        return [monitor.model for monitor in self.monitors]

    def by_model(self, model: str | None) -> Monitor | None:
        """The monitor of ``model`` (``None``: the primary one), or ``None`` for an unknown."""
        if model is None:
            return self.primary
        return next((m for m in self.monitors if m.model == model), None)

    def parse_many(self, samples: Sequence[Sample]) -> list[Routed]:
        """Parse samples, each by the monitor of its model (see the module docstring)."""
        if len(self.monitors) == 1:
            return [(0, ids, parsed) for ids, parsed in self.primary.parse_many(samples)]
        parts: list[list[Sample]] = [[] for _ in self.monitors]
        for sample in samples:
            index = self.routing.pick(sample.path)
            if index is None:
                continue
            keep = self._keep[index]
            if keep >= 1.0 or self._rng.random() < keep:
                parts[index].append(sample)
        for (model, monitored), count in self.routing.take_counts().items():
            self.metrics.model_exchanges.labels(model=model, monitored=monitored).inc(count)
        routed: list[Routed] = []
        for index, part in enumerate(parts):
            if part:
                monitor = self.monitors[index]
                routed.extend((index, ids, p) for ids, p in monitor.parse_many(part, routed=True))
        return routed

    def add(self, batch: Sequence[Routed], now: float) -> int:
        """Add each monitor's exchanges to its window; returns the number of rows."""
        return sum(
            monitor.add([(ids, parsed) for i, ids, parsed in batch if i == index], now)
            for index, monitor in enumerate(self.monitors)
        )

    def purge(self, now: float) -> None:
        """Drop expired label entries of every monitor."""
        for monitor in self.monitors:
            monitor.labels.purge(now)

    def score(self, now: float) -> None:
        """Publish every monitor's local drift scores."""
        for monitor in self.monitors:
            monitor.score(now)
