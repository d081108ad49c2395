"""Fixtures of the operator's unit tests (values live in ``controller_samples``)."""

from __future__ import annotations

import pytest

from kubedrift.api.spec import ModelMonitorSpec
from support.controller_samples import make_spec


@pytest.fixture
def spec() -> ModelMonitorSpec:
    return make_spec()
