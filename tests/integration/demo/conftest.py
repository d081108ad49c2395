"""Fixtures of the demo's end-to-end test: the demo deployed in the test's namespace (model v1
trained on A, its baseline, the ModelMonitor, the retraining RBAC) with the operator running as
a real ``kubedrift operator`` process, exactly as ``python -m kubedrift_dev demo`` sets it up;
the labels go to that operator's feedback endpoint (``labels_url``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubedrift_dev.demo import manifests
from kubedrift_dev.demo.cluster_client import DemoCluster
from kubedrift_dev.demo.deploy import deploy
from kubedrift_dev.demo.manifests import TRAINER, DemoSettings
from kubedrift_dev.demo.operator_process import OperatorProcess


@pytest.fixture
def settings() -> DemoSettings:
    return DemoSettings()


@pytest.fixture
def operator(
    cluster: Any, namespace: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[OperatorProcess]:
    running = OperatorProcess(
        cluster.kubeconfig, namespace, tmp_path / "operator.log", service_accounts=(TRAINER,)
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()
        if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
            print(f"--- operator log ---\n{running.log.read_text()[-20000:]}")


@pytest.fixture
def demo(  # noqa: PLR0917 - pytest fixtures
    cluster: Any,
    namespace: str,
    modelmonitor_crd: str,
    settings: DemoSettings,
    tmp_path: Path,
    operator: OperatorProcess,
) -> DemoCluster:
    view = DemoCluster(cluster.api_client(), namespace)
    deploy(view, settings, tmp_path, lambda line: None)
    return view


@pytest.fixture
def labels_url(operator: OperatorProcess, namespace: str) -> str:
    """Where the demo's traffic posts its labels: the operator's feedback endpoint."""
    return manifests.labels_url(operator.url, namespace)
