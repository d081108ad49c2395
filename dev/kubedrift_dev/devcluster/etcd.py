"""The control plane's etcd, spoken to directly through its v3 JSON gateway (tests only).

Tests of watch expiry need what no Kubernetes API offers: compacting etcd's history, so that a
watch resumed from an older resourceVersion is answered 410 Gone. etcd serves its gRPC API as
JSON on the client URL (``POST /v3/kv/range``, ``/v3/kv/put``, ``/v3/kv/compaction``; int64
fields travel as strings, keys and values as base64)::

    etcd = Etcd(control_plane.etcd_url)
    etcd.compact(etcd.revision())

Kubernetes resourceVersions are etcd revisions, so ``revision()`` is also the newest
resourceVersion of the cluster.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Any

#: A key outside the API server's prefix (``/registry``), written only to advance the revision.
SCRATCH_KEY = b"/kubedrift-tests/revision"


class Etcd:
    """etcd's JSON gateway at ``url`` (``http://127.0.0.1:<client port>``)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def revision(self) -> int:
        """The store's current revision."""
        answer = self._post("/v3/kv/range", {"key": _b64(SCRATCH_KEY)})
        return int(answer["header"]["revision"])

    def advance(self) -> int:
        """Write the scratch key once (one new revision); returns the new revision."""
        answer = self._post("/v3/kv/put", {"key": _b64(SCRATCH_KEY), "value": _b64(b"x")})
        return int(answer["header"]["revision"])

    def compact(self, revision: int) -> None:
        """Drop every revision before ``revision`` (physically, before returning)."""
        self._post("/v3/kv/compaction", {"revision": str(revision), "physical": True})

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            answer: dict[str, Any] = json.load(response)
        return answer


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
