"""Fixtures: real model servers hosting two models on one port (``model_servers``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# This directory's helpers and the sidecar tests' process driver (start_sidecar, raw HTTP), by
# name: under --import-mode=importlib pytest does not put test directories on sys.path.
sys.path.insert(0, str(HERE.parents[0] / "unit" / "sidecar"))
sys.path.insert(0, str(HERE))

from model_servers import ModelServerProcess, running_kserve, running_mlserver  # noqa: E402


@pytest.fixture(scope="module")
def mlserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServerProcess]:
    with running_mlserver(tmp_path_factory.mktemp("mlserver")) as server:
        yield server


@pytest.fixture(scope="module")
def kserve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServerProcess]:
    with running_kserve(tmp_path_factory.mktemp("kserve")) as server:
        yield server
