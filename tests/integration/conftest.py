"""Fixtures for integration tests: the ModelMonitor CRD installed in the test cluster.

``modelmonitor_crd`` (session) applies the CRD generated from ``kubedrift.api`` with server-side
apply through the ``cluster`` fixture's ApiClient and waits until the API server reports it
Established and serves the resource. It yields the CRD name.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubedrift.api import crd

# Helper modules shared by the integration suites (``cluster_waiting``) import by name, whatever
# pytest's import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

FIELD_MANAGER = "kubedrift-tests"
ESTABLISH_TIMEOUT_SECONDS = 60.0


def _established(body: Any) -> bool:
    conditions = (body.status.conditions if body.status else None) or []
    return any(c.type == "Established" and c.status == "True" for c in conditions)


@pytest.fixture(scope="session")
def modelmonitor_crd(cluster: Any) -> Iterator[str]:
    from kubernetes import client  # noqa: PLC0415 - keep unit-only runs light

    api_client = cluster.api_client()
    extensions = client.ApiextensionsV1Api(api_client)
    extensions.patch_custom_resource_definition(
        crd.NAME,
        crd.crd(),
        field_manager=FIELD_MANAGER,
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    custom = client.CustomObjectsApi(api_client)
    deadline = time.monotonic() + ESTABLISH_TIMEOUT_SECONDS
    while True:
        if _established(extensions.read_custom_resource_definition(crd.NAME)):
            try:
                custom.list_cluster_custom_object(crd.GROUP, crd.VERSION, crd.PLURAL, limit=1)
                break
            except client.ApiException as error:
                if error.status != 404:
                    raise
        if time.monotonic() > deadline:
            pytest.fail(f"CRD {crd.NAME} was not Established and served within 60s")
        time.sleep(0.2)
    yield crd.NAME


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep the call phase's report on the item (``item.rep_call``) so fixtures can print the
    logs of the processes they started when the test failed."""
    report = yield
    if call.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
