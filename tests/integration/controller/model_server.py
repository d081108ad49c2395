"""A tiny Open Inference Protocol v2 model server for the operator's integration tests.

It serves ``POST /v2/models/demo/infer`` with one FP64 input ``x`` and answers one INT64 output
``pred`` and, after it, an FP64 output ``proba`` ``[n, 2]``: the probabilities of classes 0 and
1, ``sigmoid(2 (x - threshold))`` for class 1 (inverted with the prediction). The rule depends on
``MODEL_VERSION`` (the env var the operator sets on rollout): version 1 predicts ``x > 0`` (what
the training data taught), version 2 predicts ``x > 3`` (what the drifted world needs), version 3
predicts ``x > 1`` and version 4 is version 3 inverted (a model that passed its gate and is wrong
live, for the rollback test). Listens on ``$POD_IP:$PORT``. Standard library only.
"""

from __future__ import annotations

import http.server
import json
import math
import os

THRESHOLDS = {"1": 0.0, "2": 3.0, "3": 1.0, "4": 1.0}
INVERTED = {"4"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, document: object) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/v2/health/"):
            self._send(200, {"live": True, "ready": True})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length))
        version = os.environ.get("MODEL_VERSION", "1")
        threshold = THRESHOLDS[version]
        values = request["inputs"][0]["data"]
        predictions = [int((value > threshold) != (version in INVERTED)) for value in values]
        positives = [1 / (1 + math.exp(-2 * (value - threshold))) for value in values]
        if version in INVERTED:
            positives = [1 - p for p in positives]
        proba = [cell for p in positives for cell in (1 - p, p)]
        self._send(
            200,
            {
                "model_name": "demo",
                "model_version": version,
                "id": request.get("id", ""),
                "outputs": [
                    {"name": "pred", "shape": [len(values)], "datatype": "INT64",
                     "data": predictions},
                    {"name": "proba", "shape": [len(values), 2], "datatype": "FP64",
                     "data": proba},
                ],
            },
        )  # fmt: skip

    def log_message(self, *_: object) -> None:
        pass


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # probes and clients that hang up early are not errors worth a traceback


if __name__ == "__main__":
    address = (os.environ["POD_IP"], int(os.environ.get("PORT", "8080")))
    Server(address, Handler).serve_forever()
