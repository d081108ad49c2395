"""A real MLServer (its own virtualenv, ``make servers``) hosting two models on one port, the
requests its own codecs encoded, and the baseline of the models' training data.

The MLServer side (training, model repository, codecs) runs in MLServer's interpreter
(``mlserver_side.py``); this side only reads the files it wrote, so the project's environment
needs none of MLServer's packages. A missing ``.venv-mlserver`` fails the tests with the command
that builds it: they are never skipped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sidecar_process import free_port

from kubedrift.stats.baseline import build_baseline

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

MLSERVER_VENV = REPO / ".venv-mlserver"
#: MLServer loads both models in a few seconds here; the bound only ends a hung start.
START_TIMEOUT = 120.0


@dataclass
class MLServer:
    """A running ``mlserver start``; ``requests`` as ``mlserver_side.py`` wrote them."""

    process: subprocess.Popen[bytes]
    port: int
    requests: list[dict[str, Any]]
    baseline: Path


def _ready(port: int, model: str) -> bool:
    url = f"http://127.0.0.1:{port}/v2/models/{model}/ready"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status) == 200
    except (OSError, urllib.error.HTTPError):
        return False


def _write_baseline(directory: Path) -> Path:
    """The baseline of the training rows; prediction and label are the training labels, so its
    classes are ``high`` and ``low``."""
    training = json.loads((directory / "training.json").read_text())
    labels = np.array(training["label"], dtype=object)
    columns = {name: np.array(values) for name, values in training["columns"].items()}
    baseline = build_baseline(
        {**columns, "prediction": labels, "label": labels}, prediction="prediction", label="label"
    )
    path = directory / "baseline.json"
    path.write_text(baseline.to_json())
    return path


@contextmanager
def running_mlserver(directory: Path) -> Iterator[MLServer]:
    """Write the models and requests into ``directory``, start MLServer, stop it at the end."""
    python = MLSERVER_VENV / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{MLSERVER_VENV} is missing: run `make servers` (MLServer's own virtualenv)")
    port = free_port()
    subprocess.run(
        [str(python), str(HERE / "mlserver_side.py"), str(directory), str(port), str(free_port())],
        check=True,
        timeout=300,
    )
    log = (directory / "mlserver.log").open("wb")
    process = subprocess.Popen(
        [str(MLSERVER_VENV / "bin" / "mlserver"), "start", str(directory / "models")],
        cwd=directory,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    log.close()
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while not (_ready(port, "iris") and _ready(port, "wine")):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (directory / "mlserver.log").read_text()[-2000:]
                pytest.fail(f"MLServer did not become ready (exit {process.poll()}):\n{tail}")
            time.sleep(0.25)
        requests = json.loads((directory / "requests.json").read_text())
        yield MLServer(process, port, requests, _write_baseline(directory))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
