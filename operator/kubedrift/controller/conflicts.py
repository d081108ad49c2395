"""Optimistic concurrency for the operator's read-modify-write updates (pure parts).

Where the operator computes a new value from an object it read (the sidecar it injects into a
Deployment's template, the Service ports it points at the sidecar and later restores, a monitor's
status), it sends the ``resourceVersion`` it read along with the patch
(:func:`with_resource_version`). The API server then refuses the write with 409 Conflict if
anybody changed the object in between, instead of letting one write silently undo the other.
:func:`retry_conflicts` runs such a read-plan-write attempt again from a fresh read, a bounded
number of times; if it still conflicts the error goes up, and the caller's own retry (the next
evaluation round, or kopf's retry of the deletion handler) takes over.

Use it through :meth:`kubedrift.controller.client.KubeClient.update`, which does the reading.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")
#: The operator's read-modify-write paths: the sidecar into the Deployment, the Service's ports to
#: the sidecar, the monitor's status, and on deletion their undoing (label of the conflicts metric).
WRITES = ("inject", "takeover", "status", "remove", "restore")
#: Attempts of one read-modify-write before the conflict is left to the caller's retry.
ATTEMPTS = 3


class ConflictError(Exception):
    """409 Conflict: the object changed since it was read (``write`` names the write path)."""

    def __init__(self, write: str, message: str) -> None:
        super().__init__(f"{write}: {message}")
        self.write = write


class SupersededError(ConflictError):
    """A conflict that a fresh read cannot resolve: another writer changed what the planned
    value was computed from (a monitor's status). Not retried here; the caller recomputes
    everything in its next round."""


def with_resource_version(patch: Mapping[str, Any], resource_version: str) -> dict[str, Any]:
    """``patch`` with ``metadata.resourceVersion`` set: the API server's precondition for it."""
    stamped = dict(patch)
    stamped["metadata"] = {**(patch.get("metadata") or {}), "resourceVersion": resource_version}
    return stamped


async def retry_conflicts(
    attempt: Callable[[int], Awaitable[T]],
    *,
    on_conflict: Callable[[], None],
    attempts: int = ATTEMPTS,
) -> T:
    """Run ``attempt(n)`` (n = 0, 1, ...) until it does not raise :class:`ConflictError`.

    Every conflict calls ``on_conflict`` (a metric); after ``attempts`` conflicts, or at once
    for a :class:`SupersededError`, the conflict is raised.
    """
    for number in range(attempts):
        try:
            return await attempt(number)
        except ConflictError as error:
            on_conflict()
            if number == attempts - 1 or isinstance(error, SupersededError):
                raise
    raise ValueError("attempts must be at least 1")
