"""RFC 3339 timestamps as the Kubernetes API writes them (UTC, seconds, ``Z``)."""

from __future__ import annotations

from datetime import UTC, datetime

from kubedrift.api.status import Timestamp


def to_timestamp(seconds: float) -> Timestamp:
    """``1700000000.7`` -> ``"2023-11-14T22:13:20Z"`` (fractions dropped, like metav1.Time)."""
    return Timestamp(datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def from_timestamp(text: str) -> float:
    """The inverse of :func:`to_timestamp`; also accepts fractional seconds and offsets."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
