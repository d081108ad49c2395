"""Which exchanges are copied for monitoring, and the bounded queue that carries the copies.

The proxy asks :meth:`Sampler.admit` once per request, when the request head has arrived, so that
only sampled exchanges keep copies of their bodies. A sample (as :data:`SampleFields`) is handed to
:class:`SampleQueue` after the response went out; when the queue is full the sample is dropped and
counted, never waited for. Both run on the event loop's thread and take no locks.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class Sample:
    """A copy of one exchange, as the worker needs it (bodies are complete, never streamed).

    ``request_ids`` are the ids from the request's ``Ce-Id`` and ``X-Request-ID`` headers, in that
    order of preference; ``generated_id`` the one the proxy minted and returned because the client
    sent none. ``*_header_length`` are ``Inference-Header-Content-Length`` values (OIP binary
    extension). ``truncated`` marks a body larger than the per-sample copy limit.
    """

    path: str
    status: int
    request_body: bytes
    response_body: bytes
    ce_id: str | None = None
    x_request_id: str | None = None
    generated_id: str | None = None
    request_header_length: str | None = None
    response_header_length: str | None = None
    truncated: bool = False


#: A :class:`Sample` as the proxy process builds and sends it: the fields in declaration order,
#: in a plain tuple (pickled about five times faster than the dataclass, which matters at 100%
#: sampling); the monitor process rebuilds ``Sample(*fields)``.
SampleFields = tuple[
    str, int, bytes, bytes, str | None, str | None, str | None, str | None, str | None, bool
]


class Sampler:
    """Admits a ``rate`` share of requests, at most ``max_per_second`` each second.

    >>> sampler = Sampler(rate=1.0, max_per_second=2, rng=random.Random(0))
    >>> [sampler.admit(now=10.0) for _ in range(3)], sampler.admit(now=11.0)
    ([True, True, False], True)
    """

    __slots__ = ("_count", "_max", "_random", "_second", "limited", "rate")

    def __init__(
        self, rate: float, max_per_second: int | None = None, rng: random.Random | None = None
    ):
        self.rate = rate
        self._max = max_per_second
        self._random = (rng or random.Random()).random
        self._second = -1
        self._count = 0
        #: Requests the rate admitted but the per-second cap refused.
        self.limited = 0

    def admit(self, now: float, *, always: bool = False) -> bool:
        """Whether to sample a request that arrived at ``now``; ``always`` skips the rate (a
        shadow copy, sampled already by the serving sidecar) but not the per-second cap."""
        if not always and self.rate < 1.0 and self._random() >= self.rate:
            return False
        if self._max is None:
            return True
        second = int(now)
        if second != self._second:
            self._second = second
            self._count = 0
        if self._count >= self._max:
            self.limited += 1
            return False
        self._count += 1
        return True


class SampleQueue(Generic[T]):
    """A bounded FIFO of samples: :meth:`offer` drops (and counts) instead of blocking.

    >>> queue: SampleQueue[str] = SampleQueue(capacity=1)
    >>> queue.offer("a"), queue.offer("b"), queue.dropped, queue.take(10)
    (True, False, 1, ['a'])
    """

    __slots__ = ("_items", "capacity", "dropped", "offered")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: deque[T] = deque()
        self.dropped = 0
        self.offered = 0

    def offer(self, sample: T) -> bool:
        self.offered += 1
        if len(self._items) >= self.capacity:
            self.dropped += 1
            return False
        self._items.append(sample)
        return True

    def take(self, limit: int) -> list[T]:
        """Up to ``limit`` samples, oldest first."""
        items = self._items
        count = min(limit, len(items))
        return [items.popleft() for _ in range(count)]

    def __len__(self) -> int:
        return len(self._items)
