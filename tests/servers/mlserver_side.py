"""Run with MLServer's own interpreter (``.venv-mlserver``): trains the test models, writes the
MLServer model repository and encodes requests with MLServer's own codecs.

``python mlserver_side.py DIR HTTP_PORT GRPC_PORT`` writes into ``DIR``:

- ``models/{iris,wine}/`` (``model.joblib``, ``model-settings.json``) and ``models/settings.json``:
  two scikit-learn logistic regressions served by the ``mlserver_sklearn.SKLearnModel``
  runtime on one port;
- ``training.json``: the training rows and labels (the baseline is built from them with
  kubedrift's own interpreter);
- ``requests.json``: a list of ``{"name", "model", "codec", "rows", "body"}``, ``body`` being
  the JSON text of an InferenceRequest encoded by ``NumpyRequestCodec`` (one ``[n, 4]`` tensor
  ``input-1``) or ``PandasCodec`` (one tensor per DataFrame column), each asking for
  ``predict_proba``. iris's rows come from its training distribution; wine's are shifted.

Everything is seeded, so the files are the same on every run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from mlserver.codecs import NumpyRequestCodec, PandasCodec
from mlserver.types import RequestOutput
from sklearn.linear_model import LogisticRegression

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
REQUESTS_PER_CODEC = 5
ROWS = 8


def labels(x: np.ndarray) -> np.ndarray:
    return np.where(x[:, 0] + x[:, 1] > 0, "high", "low")


def write_models(root: Path, http_port: int, grpc_port: int, x: np.ndarray) -> None:
    models = root / "models"
    settings = {
        "http_port": http_port,
        "grpc_port": grpc_port,
        "metrics_endpoint": None,
        "parallel_workers": 0,
    }
    models.mkdir(parents=True)
    (models / "settings.json").write_text(json.dumps(settings))
    for name, seed in (("iris", 1), ("wine", 2)):
        folder = models / name
        folder.mkdir()
        model = LogisticRegression(random_state=seed).fit(x, labels(x))
        joblib.dump(model, folder / "model.joblib")
        model_settings = {
            "name": name,
            "implementation": "mlserver_sklearn.SKLearnModel",
            "parameters": {"uri": "./model.joblib"},
        }
        (folder / "model-settings.json").write_text(json.dumps(model_settings))


def encoded(codec: str, rows: np.ndarray, request_id: str) -> str:
    if codec == "numpy":
        request = NumpyRequestCodec.encode_request(rows)
    else:
        request = PandasCodec.encode_request(pd.DataFrame(rows, columns=FEATURES))
    request.id = request_id
    request.outputs = [RequestOutput(name="predict_proba")]
    return request.model_dump_json(exclude_none=True)


def main(root: Path, http_port: int, grpc_port: int) -> None:
    rng = np.random.default_rng(22)
    x = rng.normal(size=(2000, len(FEATURES)))
    write_models(root, http_port, grpc_port, x)
    training = {"columns": {n: x[:, j].tolist() for j, n in enumerate(FEATURES)}}
    training["label"] = labels(x).tolist()
    (root / "training.json").write_text(json.dumps(training))
    requests = []
    for model, shift in (("iris", 0.0), ("wine", 3.0)):
        for codec in ("numpy", "pandas"):
            for index in range(REQUESTS_PER_CODEC):
                rows = rng.normal(loc=shift, size=(ROWS, len(FEATURES)))
                name = f"{model}-{codec}-{index}"
                requests.append(
                    {"name": name, "model": model, "codec": codec, "rows": rows.tolist(),
                     "body": encoded(codec, rows, name)}
                )  # fmt: skip
    (root / "requests.json").write_text(json.dumps(requests))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
