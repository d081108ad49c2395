"""The background task that drains the sample queue into the :class:`Monitor`, in batches.

It runs in the monitor process (``kubedrift.sidecar.monitor_service``), never on the proxy's
loop: every ``interval`` it takes up to ``batch_size`` samples, parses them ``slice_size`` at a
time (yielding between slices, so admin requests and incoming samples wait for at most one slice,
about a millisecond), then updates the window once for the whole batch. It also purges expired
label entries and refreshes the local drift scores every ``score_interval``, and calls
``after_step`` (the monitor process reads its channel again once the queue has room).
:meth:`Worker.catch_up` parses what is queued at once, for ``/v1/feedback`` when a label names an
id the label store does not know yet; :meth:`Worker.flush` processes what is left at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from kubedrift.sidecar.model_group import ModelGroup
from kubedrift.sidecar.monitor import Monitor
from kubedrift.sidecar.sampling import Sample, SampleQueue

logger = logging.getLogger(__name__)


class Worker:
    """Moves samples from ``queue`` to ``monitor``; see the module docstring."""

    def __init__(
        self,
        queue: SampleQueue[Sample],
        monitor: Monitor | ModelGroup,
        *,
        batch_size: int = 256,
        interval: float = 0.1,
        score_interval: float = 30.0,
        slice_size: int = 16,
        clock: Callable[[], float] = time.time,
        after_step: Callable[[], None] | None = None,
    ) -> None:
        self.queue = queue
        #: Every monitor of the sidecar (a single monitor is a group of one).
        self.monitor = monitor if isinstance(monitor, ModelGroup) else ModelGroup((monitor,))
        self.batch_size = batch_size
        self.interval = interval
        self.score_interval = score_interval
        self.slice_size = slice_size
        self.clock = clock
        self.after_step = after_step
        self._next_score = 0.0
        #: One step at a time: the run loop's, or a catch-up asked for by ``/v1/feedback``.
        self._stepping = asyncio.Lock()

    async def step(self, slice_size: int | None = None) -> int:
        """Process one batch; returns how many samples it took."""
        async with self._stepping:
            return await self._step(slice_size)

    async def catch_up(self) -> None:
        """Process what is queued now, not at the next interval: a label may be waiting for a
        sample this process has received but not parsed yet. Samples queued meanwhile wait."""
        pending = len(self.queue)
        while pending > 0:
            taken = await self.step(self.slice_size)
            if not taken:
                break
            pending -= taken

    async def _step(self, slice_size: int | None) -> int:
        samples = self.queue.take(self.batch_size)
        now = self.clock()
        if samples:
            try:
                parsed = []
                size = slice_size or len(samples)
                for start in range(0, len(samples), size):
                    if start:
                        await asyncio.sleep(0)
                    parsed.extend(self.monitor.parse_many(samples[start : start + size]))
                self.monitor.add(parsed, now)
            except Exception:
                self.monitor.metrics.monitor_errors.labels(stage="worker").inc()
                logger.exception("processing %d samples failed", len(samples))
        if now >= self._next_score:
            self._next_score = now + self.score_interval
            self.monitor.purge(now)
            self.monitor.score(now)
        if self.after_step is not None:
            self.after_step()
        return len(samples)

    async def run(self) -> None:
        """Forever: drain full batches back to back (yielding between them), then sleep."""
        while True:
            while await self.step(self.slice_size) == self.batch_size:
                await asyncio.sleep(0)
            await asyncio.sleep(self.interval)

    async def flush(self) -> None:
        """Process everything still queued (at shutdown)."""
        while await self.step():
            pass
