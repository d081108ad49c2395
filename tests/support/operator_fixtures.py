"""The operator under test as fixtures: a real ``kubedrift operator`` subprocess (it is the
product) against the session's control plane, watching only the test's namespace; ``operator``
starts one, ``start_operator`` starts more (after a kill). The operator's integration tests and
the reliability suite import these into their conftests; helpers live in ``controller_harness``."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support.cluster_waiting import wait_for
from support.controller_harness import (
    KUBEDRIFT,
    Kube,
    OperatorProcess,
    free_port,
    healthy,
)
from support.operator_identity import OperatorIdentity


@pytest.fixture
def operator_identity(cluster: Any, namespace: str, tmp_path: Path) -> Iterator[OperatorIdentity]:
    identity = OperatorIdentity(cluster, namespace, tmp_path)
    yield identity
    identity.remove()


@pytest.fixture
def start_operator(
    cluster: Any,
    modelmonitor_crd: str,
    operator_identity: OperatorIdentity,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., OperatorProcess]]:
    """Start ``kubedrift operator --namespace <ns>`` as a ServiceAccount with the chart's
    permissions (``operator_identity``); every process is stopped at teardown and its log
    attached to a failing test's report. ``start(port)`` reuses a killed one's port, as a
    restarted Pod behind the same Service would; ``args`` are more flags, ``env`` more
    environment variables (the reliability suite's ``KUBEDRIFT_TEST_FAULTS``), ``scope`` replaces
    ``--namespace <ns>`` (``("--all-namespaces",)``).
    ``refusals_expected`` names why the API server may refuse this operator for a while (its
    restart: the RBAC authorizer's cache starts empty); otherwise a refusal fails the test."""
    started: list[OperatorProcess] = []
    strict: list[OperatorProcess] = []
    namespace = operator_identity.namespace

    def start(
        port: int | None = None,
        *,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        refusals_expected: str | None = None,
        scope: tuple[str, ...] | None = None,
    ) -> OperatorProcess:
        port = port or free_port()
        log = tmp_path / f"operator-{len(started)}.log"
        command = [
            KUBEDRIFT,
            "operator",
            *(scope or ("--namespace", namespace)),
            "--kubeconfig",
            str(operator_identity.kubeconfig),
            "--listen",
            f"127.0.0.1:{port}",
            "--sidecar-image",
            "kubedrift:test",
            "--log-level",
            "DEBUG",
            *args,
        ]
        environ = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
        environ.update(env or {})
        with log.open("wb") as sink:
            process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=environ)
        running = OperatorProcess(process, port, log)
        started.append(running)
        if refusals_expected is None:
            strict.append(running)
        wait_for("operator /healthz", lambda: healthy(port) or process.poll() is not None)
        if process.poll() is not None:
            pytest.fail(f"operator exited with {process.returncode}:\n{log.read_text()}")
        return running

    yield start
    for running in started:
        running.stop()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for running in started:
            print(f"--- {running.log} ---\n{running.log.read_text()[-20000:]}")
    refused = [
        line
        for running in strict
        for line in running.log.read_text(errors="replace").splitlines()
        if f'User "system:serviceaccount:{namespace}:' in line
    ]
    if refused:
        pytest.fail("the chart's role refused the operator:\n" + "\n".join(refused[:20]))


@pytest.fixture
def operator(start_operator: Callable[..., OperatorProcess]) -> OperatorProcess:
    return start_operator()


@pytest.fixture
def kube(cluster: Any, namespace: str) -> Kube:
    return Kube(cluster, namespace)
