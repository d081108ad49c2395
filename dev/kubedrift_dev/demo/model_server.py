"""The demo model served over the Open Inference Protocol v2 (REST): ``python -m
kubedrift_dev.demo.model_server``.

It loads ``$MODEL_DIR/model-$MODEL_VERSION.json`` (the Deployment mounts the model ConfigMap
there; ``MODEL_VERSION`` is the env var the operator sets when it rolls out a retrained model)
and listens on ``$POD_IP:$PORT``. Endpoints: ``GET /v2/health/live``, ``/v2/health/ready``,
``/v2/models/demo`` (metadata) and ``POST /v2/models/demo/infer`` with FP64 inputs ``x1`` and
``x2`` of shape ``[n]``; the answer's outputs are ``label`` (INT64, first, what the sidecar takes
as the prediction) and ``probability`` (FP64).
"""

from __future__ import annotations

import http.server
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from kubedrift_dev.demo.logistic_model import LogisticModel
from kubedrift_dev.demo.scenario import FEATURES

MODEL_NAME = "demo"


def load_model() -> LogisticModel:
    directory = Path(os.environ.get("MODEL_DIR", "/models"))
    version = os.environ.get("MODEL_VERSION", "1")
    return LogisticModel.from_json((directory / f"model-{version}.json").read_text())


def infer(model: LogisticModel, request: dict[str, Any]) -> dict[str, Any]:
    """The OIP v2 inference response for ``request`` (raises KeyError/ValueError if malformed)."""
    tensors = {t["name"]: t["data"] for t in request["inputs"]}
    x = np.column_stack([np.asarray(tensors[name], dtype=np.float64) for name in FEATURES])
    probability = model.scores(x)
    rows = len(probability)
    return {
        "model_name": MODEL_NAME,
        "model_version": model.version,
        "id": request.get("id", ""),
        "outputs": [
            {
                "name": "label",
                "shape": [rows],
                "datatype": "INT64",
                "data": (probability > 0.5).astype(int).tolist(),
            },
            {
                "name": "probability",
                "shape": [rows],
                "datatype": "FP64",
                "data": probability.round(6).tolist(),
            },
        ],
    }


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    model: LogisticModel

    def _send(self, status: int, document: object) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path in ("/v2/health/live", "/v2/health/ready"):
            self._send(200, {"live": True, "ready": True})
        elif self.path == f"/v2/models/{MODEL_NAME}":
            self._send(
                200,
                {
                    "name": MODEL_NAME,
                    "versions": [self.model.version],
                    "platform": "numpy-logistic-regression",
                },
            )
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        if self.path != f"/v2/models/{MODEL_NAME}/infer":
            self.rfile.read(length)
            self._send(404, {"error": "not found"})
            return
        try:
            self._send(200, infer(self.model, json.loads(self.rfile.read(length))))
        except (KeyError, ValueError, TypeError) as error:
            self._send(400, {"error": f"bad request: {error}"})

    def log_message(self, *_: object) -> None:
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # probes and clients that hang up early are not worth a traceback


def main() -> None:
    Handler.model = load_model()
    address = (os.environ.get("POD_IP", "127.0.0.1"), int(os.environ.get("PORT", "8080")))
    print(f"serving model version {Handler.model.version} on {address[0]}:{address[1]}", flush=True)
    Server(address, Handler).serve_forever()


if __name__ == "__main__":
    main()
