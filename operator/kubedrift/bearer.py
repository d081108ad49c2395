"""Bearer-token checks shared by kubedrift's HTTP endpoints (the sidecar's admin port, the
operator's dataset and labels endpoints)."""

from __future__ import annotations

import hmac


def bearer_matches(header: str, token: str) -> bool:
    """Whether an ``Authorization`` header value is exactly ``Bearer <token>``, compared in
    constant time so that the answer's timing tells nothing about the token."""
    return hmac.compare_digest(header.encode(), f"Bearer {token}".encode())
