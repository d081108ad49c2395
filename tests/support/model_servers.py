"""Real model servers, each from its own virtualenv (``make servers``), hosting two models
(``iris`` and ``wine``) on one port, with the requests their own client codecs encoded.

The server side (training, model repository, codecs, the server itself) runs in the server's
interpreter (``mlserver_side.py``, ``kserve_side.py``); this side only reads the files they
wrote, so the project's environment needs none of their packages. A missing virtualenv fails
the tests with the command that builds it: they are never skipped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kubedrift.stats.baseline import build_baseline
from support.sidecar_process import free_port

REPO = Path(__file__).resolve().parents[2]
#: The scripts each model server's own interpreter runs.
HERE = REPO / "tests" / "servers"
MLSERVER_VENV = REPO / ".venv-mlserver"
KSERVE_VENV = REPO / ".venv-kserve"
#: Both servers load their two models in a few seconds here; the bound only ends a hung start.
START_TIMEOUT = 120.0
MODELS = ("iris", "wine")


@dataclass
class ModelServerProcess:
    """A running model server; ``requests`` as its ``*_side.py`` wrote them."""

    process: subprocess.Popen[bytes]
    port: int
    requests: list[dict[str, Any]]
    directory: Path


def _ready(port: int, model: str) -> bool:
    url = f"http://127.0.0.1:{port}/v2/models/{model}/ready"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status) == 200
    except (OSError, urllib.error.HTTPError):
        return False


def write_baseline(directory: Path, columns: dict[str, Any], classes: Sequence[str]) -> Path:
    """``directory/baseline.json`` of ``columns``; its prediction and label are ``classes``
    (one per row), so the baseline's classes are their distinct values."""
    labels = np.array(classes, dtype=object)
    arrays = {name: np.asarray(values, dtype=np.float64) for name, values in columns.items()}
    baseline = build_baseline(
        {**arrays, "prediction": labels, "label": labels}, prediction="prediction", label="label"
    )
    path = directory / "baseline.json"
    path.write_text(baseline.to_json())
    return path


def _python(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{venv} is missing: run `make servers` (the model servers' virtualenvs)")
    return python


@contextmanager
def _running(command: list[str], directory: Path, port: int) -> Iterator[ModelServerProcess]:
    log_path = directory / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while not all(_ready(port, model) for model in MODELS):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text()[-2000:]
                pytest.fail(f"{command[0]} did not become ready (exit {process.poll()}):\n{tail}")
            time.sleep(0.25)
        requests = json.loads((directory / "requests.json").read_text())
        yield ModelServerProcess(process, port, requests, directory)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


@contextmanager
def running_mlserver(directory: Path) -> Iterator[ModelServerProcess]:
    """MLServer 1.7.1 with the scikit-learn runtime; the models, requests and training rows are
    written into ``directory`` first (``mlserver_side.py``)."""
    python = _python(MLSERVER_VENV)
    port = free_port()
    subprocess.run(
        [str(python), str(HERE / "mlserver_side.py"), str(directory), str(port), str(free_port())],
        check=True,
        timeout=300,
    )
    command = [str(MLSERVER_VENV / "bin" / "mlserver"), "start", str(directory / "models")]
    with _running(command, directory, port) as server:
        yield server


@contextmanager
def running_kserve(directory: Path) -> Iterator[ModelServerProcess]:
    """KServe 0.21.0's Python model server; the requests are written into ``directory`` first
    (``kserve_side.py``)."""
    python = str(_python(KSERVE_VENV))
    subprocess.run([python, str(HERE / "kserve_side.py"), "encode", str(directory)], check=True,
                   timeout=300)  # fmt: skip
    port = free_port()
    command = [python, str(HERE / "kserve_side.py"), "serve", str(port), str(free_port())]
    with _running(command, directory, port) as server:
        yield server
