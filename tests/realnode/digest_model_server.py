"""An Open Inference Protocol v2 model server that proves what it received and what it sent.

Run by the project image's Python in a real Pod (from a ConfigMap), standard library only. It
serves ``POST /v2/models/demo/infer`` with one FP64 input ``x`` and answers the INT64 output
``pred`` (``x > 0``), as the integration tests' model (version 1) does, and two headers: the
SHA-256 of the request body as it arrived (``X-Request-SHA256``) and of the response body it sends
(``X-Body-SHA256``). A client behind a proxy that compares both with what it sent and received
knows that the proxy forwarded both bodies byte for byte. ``GET /v2/health/ready`` answers 200.
Listens on ``$POD_IP:$PORT`` (8080).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body: bytes, request_digest: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Body-SHA256", hashlib.sha256(body).hexdigest())
        if request_digest:
            self.send_header("X-Request-SHA256", request_digest)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/v2/health/"):
            self._send(200, b'{"live": true, "ready": true}')
        else:
            self._send(404, b'{"error": "not found"}')

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = json.loads(raw)
        values = request["inputs"][0]["data"]
        answer = {
            "model_name": "demo",
            "model_version": "1",
            "id": request.get("id", ""),
            "outputs": [{"name": "pred", "shape": [len(values)], "datatype": "INT64",
                         "data": [int(value > 0) for value in values]}],
        }  # fmt: skip
        self._send(200, json.dumps(answer).encode(), hashlib.sha256(raw).hexdigest())

    def log_message(self, *_: object) -> None:
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # probes and clients that hang up early are not errors worth a traceback


if __name__ == "__main__":
    Server((os.environ["POD_IP"], int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
