"""The optional webhook: one JSON POST per alarm transition, with a timeout and retries.

Payload (``build_payload``)::

    {"kind": "ModelMonitorTransition", "namespace": "ml", "monitor": "fraud-model",
     "from": "Healthy", "to": "Drifting", "reason": "DriftDetected", "message": "...",
     "time": "2026-11-22T22:48:47Z", "status": {...the new status...}}

Delivery retries connection errors and 5xx answers with exponential backoff; a 4xx is final.
A webhook that stays down is logged and counted, never blocks evaluation for longer than
``attempts * timeout`` plus the backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp

from kubedrift.controller.timestamps import to_timestamp


def build_payload(
    namespace: str,
    monitor: str,
    *,
    previous: str | None,
    current: str,
    reason: str,
    message: str,
    now: float,
    status: Mapping[str, Any],
) -> dict[str, Any]:
    """The JSON body posted for one transition."""
    return {
        "kind": "ModelMonitorTransition",
        "namespace": namespace,
        "monitor": monitor,
        "from": previous,
        "to": current,
        "reason": reason,
        "message": message,
        "time": to_timestamp(now),
        "status": dict(status),
    }


async def deliver(
    session: aiohttp.ClientSession,
    url: str,
    payload: Mapping[str, Any],
    *,
    timeout: float,
    token: str | None = None,
    attempts: int = 3,
    backoff: float = 0.5,
) -> bool:
    """POST ``payload``; True when the receiver answered 2xx within ``attempts`` tries."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for attempt in range(attempts):
        try:
            async with session.post(
                url,
                json=payload,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                if response.status < 300:
                    return True
                if response.status < 500:
                    return False
        except (aiohttp.ClientError, TimeoutError):
            pass
        if attempt + 1 < attempts:
            await asyncio.sleep(backoff * 2**attempt)
    return False
