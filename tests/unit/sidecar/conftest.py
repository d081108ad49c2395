"""Fixtures: a real model server, a baseline file, and real sidecar processes in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.sidecar_baseline import write_baseline
from support.sidecar_model_server import ModelServer, running_model_server
from support.sidecar_process import Sidecar, start_sidecar


@pytest.fixture(scope="session")
def baseline_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_baseline(tmp_path_factory.mktemp("baseline"), seed=7)


@pytest.fixture(scope="module")
def model() -> Iterator[ModelServer]:
    with running_model_server() as server:
        yield server


@pytest.fixture(scope="module")
def sidecar(model: ModelServer, baseline_file: Path) -> Iterator[Sidecar]:
    """A sidecar sampling every request, with feature names for positional payloads."""
    config = baseline_file.parent / "sidecar.yaml"
    config.write_text(
        "sampleRate: 1.0\nmaxSamplesPerSecond: null\nbatchInterval: 20ms\n"
        "payload:\n  featureNames: [x-0, x-1, x-2]\n"
    )
    process = start_sidecar(model.port, baseline_file, "--config", str(config))
    yield process
    process.stop()
