"""A real HTTP model server for the sidecar tests (stdlib ``http.server`` on 127.0.0.1).

It answers like the protocols' servers do, from the request alone, so a test can compare a response
fetched through the sidecar with the same request sent directly. It records what it received so
tests can check what the sidecar forwarded. Paths:

- ``/v2/models/m/infer`` (OIP v2), ``/v1/models/m:predict`` (KServe v1), ``/api/v1.0/predictions``
  (Seldon v1), ``/invocations`` (MLflow): prediction 1 when the first feature is positive, else 0;
  a body it cannot read gets 400 with an ``{"error"}`` body.
- ``/echo``: the request body back; ``X-Status`` picks the status.
- ``/chunked``: the request body back in 1000-byte chunks (``Transfer-Encoding: chunked``).
- ``/slow``: waits ``X-Delay`` seconds, then echoes.
- ``/bye``: echoes, then closes the connection without announcing it (like a server whose
  keep-alive timeout just expired).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes


def _first_feature(document: Any, path: str) -> list[float]:
    if path.startswith("/v2/"):
        tensor = document["inputs"][0]
        data, shape = tensor["data"], tensor["shape"]
        width = shape[1] if len(shape) == 2 else 1
        return [float(v) for v in data[::width]]
    if path.startswith("/v1/"):
        return [float(row[0]) for row in document["instances"]]
    if path.startswith("/api/"):
        return [float(row[0]) for row in document["data"]["ndarray"]]
    split = document["dataframe_split"]
    return [float(row[0]) for row in split["data"]]


def _prediction_body(document: Any, path: str) -> dict[str, Any]:
    classes = [1 if value > 0 else 0 for value in _first_feature(document, path)]
    if path.startswith("/v2/"):
        return {
            "model_name": "m",
            "id": document.get("id", "none"),
            "outputs": [
                {"name": "y", "shape": [len(classes)], "datatype": "INT64", "data": classes}
            ],
        }
    if path.startswith("/api/"):
        return {
            "data": {"names": ["y"], "ndarray": [[c] for c in classes]},
            "meta": document.get("meta", {}),
        }
    return {"predictions": classes}


class ModelHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Head and body go out in two writes: with Nagle's algorithm the body waits for the client's
    # delayed ACK (about 40 ms per request on Linux).
    disable_nagle_algorithm = True
    server: ModelServer

    def log_message(self, format: str, *args: Any) -> None:
        del format, args

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def _reply(self, status: int, body: bytes, extra: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-MiXeD-Case", "kept")
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        body = self._body()
        self.server.received.append(
            Received(self.command, self.path, list(self.headers.items()), body)
        )
        if self.path == "/slow":
            time.sleep(float(self.headers.get("X-Delay", "1")))
        if self.path == "/bye":
            self._reply(200, body)
            self.close_connection = True
            return
        if self.path in ("/echo", "/slow") or self.command in ("GET", "HEAD", "PUT", "DELETE"):
            self._reply(
                int(self.headers.get("X-Status", "200")), body, [("X-Method", self.command)]
            )
            return
        if self.path == "/chunked":
            self.send_response_only(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), 1000):
                chunk = body[start : start + 1000]
                self.wfile.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
            return
        try:
            answer = json.dumps(_prediction_body(json.loads(body), self.path)).encode()
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError):
            self._reply(400, b'{"error": "cannot read the request"}')
            return
        self._reply(200, answer)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle  # noqa: N815


class ModelServer(ThreadingHTTPServer):
    """Started by :func:`start_model_server`; ``received`` lists every request in order."""

    daemon_threads = True
    # socketserver's default listen backlog is 5: a burst of new connections (a proxy growing its
    # pool under load) overflows it, and a connection stuck in the overflow stalls for a minute.
    request_queue_size = 1024

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ModelHandler)
        self.received: list[Received] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def start_model_server() -> ModelServer:
    server = ModelServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextmanager
def running_model_server() -> Iterator[ModelServer]:
    """A model server for the duration of the ``with`` block (the suites' ``model`` fixture)."""
    server = start_model_server()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
