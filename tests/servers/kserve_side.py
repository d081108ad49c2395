"""Run with KServe's own interpreter (``.venv-kserve``): KServe's Python model server hosting two
models on one port, and requests encoded the way KServe's ``InferenceRESTClient`` encodes them.

``python kserve_side.py encode DIR`` writes ``DIR/requests.json``: a list of ``{"name", "model",
"path", "headers", "body" (base64), "rows"}``. For each model: KServe v1 ``instances`` (the
client's ``orjson.dumps`` of the dict), OIP v2 JSON (``InferRequest.to_rest()`` with
``InferInput.set_data_from_numpy(binary_data=False)``, one ``[n, 4]`` FP64 tensor ``input-0`` as
in KServe's examples) and OIP v2 with the binary tensor extension (``binary_data=True``: the
JSON header, ``Inference-Header-Content-Length`` and the raw little-endian tensor). iris's rows
come from N(0, 1), wine's are shifted by 3.

``python kserve_side.py serve HTTP_PORT GRPC_PORT`` serves models ``iris`` and ``wine``: the
prediction of a row is class index 0 when its first two values sum above 0, else 1 (v1:
``{"predictions": [...]}``; v2: one INT64 output ``output-0``).
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from kserve import InferInput, InferOutput, InferRequest, InferResponse, Model, ModelServer

FEATURES = 4
ROWS = 8
REQUESTS_PER_KIND = 4
INFERENCE_HEADER = "inference-header-content-length"


def classes(x: np.ndarray) -> np.ndarray:
    return np.where(x[:, 0] + x[:, 1] > 0, 0, 1).astype(np.int64)


class Scorer(Model):  # type: ignore[misc]
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.ready = True

    def predict(self, payload: Any, headers: Any = None, response_headers: Any = None) -> Any:
        if isinstance(payload, InferRequest):
            x = payload.inputs[0].as_numpy()
            output = InferOutput(name="output-0", shape=[len(x)], datatype="INT64")
            output.set_data_from_numpy(classes(x), binary_data=False)
            return InferResponse(
                model_name=self.name, infer_outputs=[output], response_id=payload.id
            )
        return {"predictions": classes(np.asarray(payload["instances"])).tolist()}


def encode(root: Path) -> None:
    rng = np.random.default_rng(23)
    requests = []
    for model, shift in (("iris", 0.0), ("wine", 3.0)):
        for kind in ("v1", "v2-json", "v2-binary"):
            for index in range(REQUESTS_PER_KIND):
                rows = rng.normal(loc=shift, size=(ROWS, FEATURES))
                name = f"{model}-{kind}-{index}"
                headers = {"content-type": "application/json", "x-request-id": name}
                if kind == "v1":
                    path = f"/v1/models/{model}:predict"
                    body = orjson.dumps({"instances": rows.tolist()})
                else:
                    path = f"/v2/models/{model}/infer"
                    tensor = InferInput("input-0", list(rows.shape), "FP64")
                    tensor.set_data_from_numpy(rows, binary_data=kind == "v2-binary")
                    data, json_length = InferRequest(model, [tensor], request_id=name).to_rest()
                    if json_length:
                        headers[INFERENCE_HEADER] = str(json_length)
                        headers["content-type"] = "application/octet-stream"
                    body = data if isinstance(data, bytes) else orjson.dumps(data)
                requests.append(
                    {"name": name, "model": model, "kind": kind, "path": path, "headers": headers,
                     "body": base64.b64encode(body).decode(), "rows": rows.tolist()}
                )  # fmt: skip
    (root / "requests.json").write_text(json.dumps(requests))


def serve(http_port: int, grpc_port: int) -> None:
    server = ModelServer(http_port=http_port, grpc_port=grpc_port, enable_grpc=False)
    server.start([Scorer("iris"), Scorer("wine")])


if __name__ == "__main__":
    if sys.argv[1] == "encode":
        encode(Path(sys.argv[2]))
    else:
        serve(int(sys.argv[2]), int(sys.argv[3]))
