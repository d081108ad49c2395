"""Fixtures for integration tests: the ModelMonitor CRD installed in the test cluster.

``modelmonitor_crd`` (session) installs the ModelMonitor CRD in the ``cluster`` fixture's
cluster (``crd_install``) and yields its name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support.crd_install import install_crd


@pytest.fixture(scope="session")
def modelmonitor_crd(cluster: Any) -> Iterator[str]:
    yield install_crd(cluster.api_client())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep the call phase's report on the item (``item.rep_call``) so fixtures can print the
    logs of the processes they started when the test failed."""
    report = yield
    if call.when == "call":
        item.rep_call = report
    return report
