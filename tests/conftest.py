"""Shared fixtures: the real control plane (session-wide) and a fresh namespace per test.

``cluster`` starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and the node
stand-in from the binaries ``tests/controlplane/build.sh`` builds or reuses, once per session.
Set ``KUBEDRIFT_TEST_KUBECONFIG`` to a kubeconfig path to test against an existing cluster
instead (``KUBEDRIFT_TEST_KUBECONFIG=1`` uses ``$KUBECONFIG``). If the control plane cannot be
built or started, every test that needs it errors with the reason: never skipped.
Tests under ``tests/integration/`` are marked ``integration`` automatically; tests that need
what the project venv does not hold are marked ``tools``: those under ``tests/servers/`` (the
model servers' venvs), those that take the ``helm`` fixture (helm is built with Go), and the
modules that say so themselves (promtool, the package index). ``make check`` deselects
``tools``; ``make test`` and CI run everything. Deselected tests are counted in the summary
(pytest does so itself; under pytest-xdist, which hides the count, the hooks below do).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubedrift_dev.devcluster import ControlPlane, locate_binaries
from support.cluster_view import Cluster

REPO = Path(__file__).resolve().parents[1]
INTEGRATION = REPO / "tests" / "integration"
SERVERS = REPO / "tests" / "servers"
#: Fixtures that need a tool from outside the venv (``make tools``).
TOOL_FIXTURES = frozenset({"helm"})


def _external_kubeconfig() -> Path | None:
    value = os.environ.get("KUBEDRIFT_TEST_KUBECONFIG", "")
    if not value:
        return None
    if value.lower() in ("1", "true", "yes"):
        return Path(os.environ.get("KUBECONFIG", Path.home() / ".kube" / "config"))
    return Path(value)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    external = _external_kubeconfig()
    if external is not None:
        if not external.is_file():
            pytest.fail(f"KUBEDRIFT_TEST_KUBECONFIG names {external}, which does not exist")
        yield Cluster(external)
        return
    control_plane = ControlPlane(locate_binaries(repo_root=REPO),
                                 tmp_path_factory.mktemp("cluster"))  # fmt: skip
    control_plane.start()
    try:
        yield Cluster(control_plane.kubeconfig, control_plane)
    finally:
        control_plane.stop()


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace (with its default ServiceAccount ready), deleted after the test."""
    from kubernetes import client  # noqa: PLC0415

    api = client.CoreV1Api(cluster.api_client())
    stem = request.node.name.removeprefix("test_").replace("_", "-").lower()[:40].strip("-")
    name = f"{stem}-{uuid.uuid4().hex[:6]}"
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    deadline = time.monotonic() + 60
    while not api.list_namespaced_service_account(
        name, field_selector="metadata.name=default"
    ).items:
        if time.monotonic() > deadline:
            pytest.fail(f"namespace {name}: the default ServiceAccount never appeared")
        time.sleep(0.1)
    yield name
    api.delete_namespace(name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(INTEGRATION):
            item.add_marker(pytest.mark.integration)
        uses = set(getattr(item, "fixturenames", ()))
        if item.path.is_relative_to(SERVERS) or uses & TOOL_FIXTURES:
            item.add_marker(pytest.mark.tools)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On a failed integration test, add where the component logs are and the tails of the
    container logs of the test's namespace to the report."""
    report = yield
    if report.failed and call.when in ("setup", "call"):
        funcargs = getattr(item, "funcargs", {})
        found = funcargs.get("cluster")
        if isinstance(found, Cluster) and found.control_plane is not None:
            report.sections.append(("control-plane logs", str(found.control_plane.logs_dir)))
            namespace = funcargs.get("namespace")
            if isinstance(namespace, str):
                for path, tail in found.container_logs(namespace).items():
                    report.sections.append((f"container log {path}", tail))
    return report


#: Tests deselected in this process (under xdist: in this worker, each of which collects all).
_deselected = [0]
#: Under xdist, on the controller: what each worker deselected.
_workers_deselected: dict[str, int] = {}


def pytest_deselected(items: list[pytest.Item]) -> None:
    _deselected[0] += len(items)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["deselected"] = _deselected[0]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    _workers_deselected[str(node.gateway.id)] = int(node.workeroutput.get("deselected", 0))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _workers_deselected:
        count = max(_workers_deselected.values())
        terminalreporter.write_line(
            f"{count} tests deselected by -m {config.option.markexpr!r} (make test runs them)"
        )
