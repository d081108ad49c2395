"""Fixtures of the sidecar reliability suite (``make chaos``): a baseline file for the real sidecar
processes and the model server they front (one per module). The process driver and the model
server are the sidecar tests' own helpers (``support.sidecar_process``,
``support.sidecar_model_server``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.sidecar_baseline import write_baseline
from support.sidecar_model_server import ModelServer, running_model_server


@pytest.fixture(scope="session")
def baseline_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three normal features and a 0/1 prediction (the model servers' columns)."""
    return write_baseline(tmp_path_factory.mktemp("reliability"), seed=11)


@pytest.fixture(scope="module")
def model() -> Iterator[ModelServer]:
    with running_model_server() as server:
        yield server
