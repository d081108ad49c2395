"""``status.conditions`` bookkeeping in the metav1.Condition shape, as a pure function.

Kubernetes convention: ``lastTransitionTime`` records when a condition's *status* last changed,
so a condition re-asserted on every evaluation keeps its original time, while reason, message and
observedGeneration always reflect the latest evaluation. Use :func:`set_condition` for every
condition the operator writes and patch the returned list into the status.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from kubedrift.api.status import Condition, ConditionStatus, Timestamp


def timestamp(moment: datetime) -> Timestamp:
    """``moment`` as metav1.Time text: UTC, whole seconds (``2026-11-22T22:48:47Z``).

    Raises ``ValueError`` for a naive datetime, whose zone would be a guess.
    """
    if moment.tzinfo is None:
        raise ValueError("timestamp() needs a timezone-aware datetime")
    return Timestamp(moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def set_condition(  # noqa: PLR0917 (the contract shared with the operator is positional)
    conditions: Sequence[Condition],
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    generation: int,
    now: datetime,
) -> list[Condition]:
    """Return a new condition list with condition ``type_`` set; the input is not modified.

    An existing condition of that type is replaced in place (order is kept) and keeps its
    ``lastTransitionTime`` unless ``status`` differs from its previous status; a new type is
    appended with ``lastTransitionTime = now``. Duplicates of ``type_`` in the input collapse into
    one.

    >>> from datetime import datetime, UTC
    >>> t0, t1 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    >>> c = set_condition([], "DriftDetected", "False", "NoDrift", "ok", 1, t0)
    >>> c = set_condition(c, "DriftDetected", "False", "NoDrift", "still ok", 2, t1)
    >>> c[0]["lastTransitionTime"], c[0]["message"], c[0]["observedGeneration"]
    ('2026-01-01T00:00:00Z', 'still ok', 2)
    """
    fresh = Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        lastTransitionTime=timestamp(now),
        observedGeneration=generation,
    )
    out: list[Condition] = []
    replaced = False
    for existing in conditions:
        if existing["type"] != type_:
            out.append(Condition(**existing))
            continue
        if replaced:  # a duplicate of the type: keep only the first
            continue
        if existing["status"] == status and "lastTransitionTime" in existing:
            fresh["lastTransitionTime"] = existing["lastTransitionTime"]
        out.append(fresh)
        replaced = True
    if not replaced:
        out.append(fresh)
    return out


def find_condition(conditions: Sequence[Condition], type_: str) -> Condition | None:
    """The condition of type ``type_``, or None."""
    return next((c for c in conditions if c["type"] == type_), None)
