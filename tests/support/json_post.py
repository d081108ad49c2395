"""``POST`` a JSON document and read the JSON answer, for integration tests talking to sidecars
and to the operator's HTTP endpoints."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def post(url: str, document: Any, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(document).encode(), headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)
