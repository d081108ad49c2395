"""The messages between the proxy process and the monitor process, one class each.

Proxy to monitor (:data:`ToMonitor`):

- :class:`Samples`: a batch of sampled exchanges (plain tuples, see
  ``kubedrift.sidecar.sampling.SampleFields``) and the counters at the time of sending.
- :class:`Stats`: the counters alone, about once a second when no samples went.
- :class:`Serving`: the proxy listens (the monitor's ``/readyz`` waits for it).
- :class:`Draining`: the proxy stopped accepting and finishes the requests in flight.
- :class:`Stop`: the proxy is done; the monitor stops too.
- :class:`Synced`: the answer to :class:`Sync` ``n``, sent after everything that was queued.

Monitor to proxy (:data:`ToProxy`):

- :class:`Sync`: send what is queued now, then :class:`Synced` with the same number (a label
  may name a sample still waiting in the proxy process).
- :class:`Shadow`: copy sampled requests to this ``(host, port)`` from now on, or to none
  (``PUT /v1/shadow``: a shadow trial starts or ends without restarting the sidecar).

Each is a plain tuple whose first item is a literal tag, typed here as such: a receiver dispatches
on one string comparison (``message[0] == "samples"``) and mypy narrows the union on it, and
senders write tuple literals that mypy checks against these types. They cross the channel
pickled (``kubedrift.sidecar.ipc``) exactly as before they were typed: a ``NamedTuple`` or a
dataclass would pickle its class reference too and be rebuilt through Python code: a
``NamedTuple`` took 2.5-4x the time of the tuple to pickle a one-sample frame or a sync (the same
for a 64-sample batch, whose rows dominate; docs/architecture.md has the figures).
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from kubedrift.sidecar.proxy_stats import ProxySnapshot
from kubedrift.sidecar.sampling import SampleFields

Samples: TypeAlias = tuple[Literal["samples"], list[SampleFields], ProxySnapshot]
Stats: TypeAlias = tuple[Literal["stats"], ProxySnapshot]
Serving: TypeAlias = tuple[Literal["serving"]]
Draining: TypeAlias = tuple[Literal["draining"]]
Stop: TypeAlias = tuple[Literal["stop"]]
Synced: TypeAlias = tuple[Literal["synced"], int]
Sync: TypeAlias = tuple[Literal["sync"], int]
Shadow: TypeAlias = tuple[Literal["shadow"], tuple[str, int] | None]

ToMonitor: TypeAlias = Samples | Stats | Serving | Draining | Stop | Synced
ToProxy: TypeAlias = Sync | Shadow
