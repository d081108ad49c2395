"""The kubelet's log endpoint, so that ``kubectl logs`` works against the stand-in.

The API server proxies ``GET /api/v1/namespaces/NS/pods/POD/log`` to
``https://<node InternalIP>:<daemonEndpoints.kubeletEndpoint.Port>/containerLogs/NS/POD/CONTAINER``
with its kubelet client certificate; this server requires a client certificate signed by the
cluster CA and answers from the container's log file. Supported query parameters:
``tailLines``, ``limitBytes`` and ``follow`` (streams until the container's current run ends).
A container's runs share one log file, so ``previous`` gives the same text.
"""

from __future__ import annotations

import http.server
import re
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

#: (namespace, pod, container) -> the log file and a check whether the container still runs.
Locate = Callable[[str, str, str], tuple[Path, Callable[[], bool]] | None]
FOLLOW_POLL = 0.2
#: Namespace, Pod and container names are DNS labels or subdomains.
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9.-]*")


def tail(data: bytes, lines: int | None) -> bytes:
    """The last ``lines`` lines of ``data`` (all of it when None)."""
    if lines is None:
        return data
    if lines <= 0:
        return b""
    kept = data.splitlines(keepends=True)[-lines:]
    return b"".join(kept)


class LogServer(http.server.ThreadingHTTPServer):
    """HTTPS server on ``(host, port)`` for ``/containerLogs/...``; run :meth:`serve_forever`
    in a thread and :meth:`shutdown` it."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], locate: Locate, *, cert: str, key: str,
                 client_ca: str) -> None:  # fmt: skip
        super().__init__(address, _Handler)
        self.locate = locate
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
        # The handshake happens in the request's thread, where a failed one is handled and
        # the connection closed, not in accept().
        self.socket = context.wrap_socket(
            self.socket, server_side=True, do_handshake_on_connect=False
        )

    def handle_error(self, request: object, client_address: object) -> None:
        """Refused or dropped connections (bad client certificate...) are not worth a trace."""
        del request, client_address

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="log-server", daemon=True)
        thread.start()
        return thread


class _Handler(http.server.BaseHTTPRequestHandler):
    server: LogServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "containerLogs" or not all(map(_NAME.fullmatch, parts)):
            self.send_error(404, "only /containerLogs/NAMESPACE/POD/CONTAINER is served")
            return
        found = self.server.locate(parts[1], parts[2], parts[3])
        if found is None or not found[0].exists():
            self.send_error(404, f"no log for container {parts[3]} of pod {parts[1]}/{parts[2]}")
            return
        path, running = found
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        lines = int(query["tailLines"]) if "tailLines" in query else None
        limit = int(query["limitBytes"]) if "limitBytes" in query else None
        follow = query.get("follow") == "true"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        with path.open("rb") as log:
            sent = self._send(tail(log.read(), lines), limit, 0)
            while follow and sent is not None and running():
                time.sleep(FOLLOW_POLL)
                sent = self._send(log.read(), limit, sent)
            if follow and sent is not None:
                self._send(log.read(), limit, sent)

    def _send(self, data: bytes, limit: int | None, sent: int) -> int | None:
        """Write ``data`` within ``limit``; the new total, or None once done or disconnected."""
        if limit is not None:
            data = data[: max(limit - sent, 0)]
        try:
            if data:
                self.wfile.write(data)
                self.wfile.flush()
        except OSError:
            return None
        total = sent + len(data)
        return None if limit is not None and total >= limit else total

    def log_message(self, format: str, *args: object) -> None:
        del format, args  # requests are not worth a line each in the node's log
