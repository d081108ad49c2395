"""Fixtures: real model servers hosting two models on one port (``model_servers``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.model_servers import ModelServerProcess, running_kserve, running_mlserver


@pytest.fixture(scope="module")
def mlserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServerProcess]:
    with running_mlserver(tmp_path_factory.mktemp("mlserver")) as server:
        yield server


@pytest.fixture(scope="module")
def kserve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServerProcess]:
    with running_kserve(tmp_path_factory.mktemp("kserve")) as server:
        yield server
