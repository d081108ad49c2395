"""A namespace per test module for the API tests (which create only ModelMonitors).

The ModelMonitors these tests create need no ServiceAccount or controllers, so one namespace per
module is enough, and its name does not depend on the (parametrized) test name.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def api_namespace(cluster: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    from kubernetes import client  # noqa: PLC0415 - keep unit-only runs light

    core = client.CoreV1Api(cluster.api_client())
    stem = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")
    name = f"{stem[:40].strip('-')}-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)
