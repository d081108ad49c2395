"""A small JSON client for the Kubernetes API, used by the node stand-in.

The stand-in works on plain dicts (the API's JSON) so that its pure parts (status building, env
resolution, volume planning) are easy to test; the generated ``kubernetes`` client models would
only get in the way. Transport: urllib3 with the cluster CA and a client certificate.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import urllib3

JSON = dict[str, Any]
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"


class ApiError(Exception):
    """The API server answered with an error status (``status``; ``body`` is its JSON)."""

    def __init__(self, status: int, body: Any) -> None:
        message = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"{status}: {message}")
        self.status = status
        self.body = body


class Rest:
    """JSON requests to one API server, authenticated by client certificate."""

    def __init__(self, server: str, ca_cert: str, client_cert: str, client_key: str) -> None:
        self.server = server.rstrip("/")
        self._pool = urllib3.PoolManager(
            maxsize=8,
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_cert,
            cert_file=client_cert,
            key_file=client_key,
            retries=False,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float = 15.0,
    ) -> JSON:
        """Send one request; return the decoded JSON answer or raise :class:`ApiError`
        (:class:`ConnectionError` when the server cannot be reached)."""
        try:
            response = self._pool.request(
                method,
                self.server + path,
                fields=dict(params or {}) if method in ("GET", "DELETE") and params else None,
                body=json.dumps(body).encode() if body is not None else None,
                headers={"Content-Type": content_type, "Accept": "application/json"},
                timeout=timeout,
            )
        except urllib3.exceptions.HTTPError as error:
            raise ConnectionError(f"{method} {path}: {error}") from error
        document = _decode(response.data)
        if response.status >= 300:
            raise ApiError(response.status, document)
        if not isinstance(document, dict):
            raise ApiError(response.status, {"message": f"unexpected answer: {document!r}"})
        return document

    def get(self, path: str, **params: str) -> JSON:
        return self.request("GET", path, params=params)

    def watch(self, path: str, params: Mapping[str, str], timeout: float) -> Iterator[JSON]:
        """Stream a watch: yields each event (``{"type": ..., "object": ...}``) until the server
        ends it (``timeoutSeconds``) or ``timeout`` seconds pass without data."""
        try:
            response = self._pool.request(
                "GET",
                self.server + path,
                fields={**params, "watch": "true"},
                headers={"Accept": "application/json"},
                preload_content=False,
                timeout=urllib3.Timeout(connect=10, read=timeout),
            )
        except urllib3.exceptions.HTTPError as error:
            raise ConnectionError(f"watch {path}: {error}") from error
        try:
            if response.status >= 300:
                raise ApiError(response.status, _decode(response.read()))
            buffer = b""
            for chunk in response.stream(4096, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
        except urllib3.exceptions.HTTPError as error:
            raise ConnectionError(f"watch {path}: {error}") from error
        finally:
            response.release_conn()


def _decode(data: bytes) -> Any:
    try:
        return json.loads(data) if data else {}
    except ValueError:
        return {"message": data.decode(errors="replace")}
