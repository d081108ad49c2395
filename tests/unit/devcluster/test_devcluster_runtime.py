"""A container through its runs: start, exit, back-off, restart by policy, and the config errors
that keep it waiting. Real processes; the clock is passed in, so back-off needs no sleeping."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from kubedrift_dev.devcluster.node.container_lifecycle import ContainerRunner, Sandbox
from kubedrift_dev.devcluster.node.mountpoints import MountPoints

POD: dict[str, Any] = {"metadata": {"name": "p", "namespace": "ns", "uid": "0123456789"},
                       "spec": {}}  # fmt: skip


class NoObjects:
    """An empty namespace: no ConfigMaps, Secrets, tokens or Services (standing in for API
    reads)."""

    def services(self, namespace: str) -> list[dict[str, Any]]:
        return []

    def config_map(self, namespace: str, name: str) -> Mapping[str, bytes] | None:
        return None

    def secret(self, namespace: str, name: str) -> Mapping[str, bytes] | None:
        return None

    def token(self, pod: Mapping[str, Any], audience: str | None, expiration_seconds: int) -> str:
        raise AssertionError("no token expected")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A Pod sandbox in ``tmp_path``. Its mount points (/dev/termination-log) are real host
    paths, so it takes part in the machine-wide registry like a node does."""
    mountpoints = MountPoints()
    yield Sandbox(
        pod_dir=tmp_path / "pod",
        pod_ip="127.0.9.2",
        host_paths={},
        base_env={"PATH": "/usr/bin:/bin"},
        mountpoints=mountpoints,
        sources=NoObjects(),
    )
    mountpoints.release()


def run_until_exit(runner: ContainerRunner, sandbox: Sandbox, now: float) -> None:
    """Start the container at ``now`` and tick once its process has ended."""
    runner.tick(POD, sandbox, now)
    assert runner.process is not None
    runner.process.wait(30)
    runner.tick(POD, sandbox, now + 0.5)


def test_failed_container_backs_off_then_restarts_under_on_failure(sandbox: Sandbox) -> None:
    spec = {"name": "c", "image": "x", "command": ["sh", "-c", "echo $POD_IP; exit 3"]}
    runner = ContainerRunner(spec, "OnFailure")

    run_until_exit(runner, sandbox, 100.0)

    record = runner.record
    assert (record.state, record.reason) == ("waiting", "CrashLoopBackOff")
    assert record.last_terminated is not None
    assert record.last_terminated.exit_code == 3
    assert runner.restart_at == 101.5
    runner.tick(POD, sandbox, 101.0)
    assert runner.process is None  # still backing off
    runner.tick(POD, sandbox, 101.5)
    assert (record.state, record.restart_count) == ("running", 1)
    assert runner.process is not None
    runner.process.wait(30)
    assert (sandbox.pod_dir / "c.log").read_text() == "127.0.9.2\n127.0.9.2\n"


def test_successful_container_under_on_failure_stays_terminated(sandbox: Sandbox) -> None:
    runner = ContainerRunner({"name": "c", "command": ["true"]}, "OnFailure")
    run_until_exit(runner, sandbox, 100.0)
    assert runner.done and runner.succeeded
    assert runner.record.restart_count == 0


def test_failed_init_container_is_retried_unless_the_policy_is_never(sandbox: Sandbox) -> None:
    retried = ContainerRunner({"name": "i", "command": ["false"]}, "Always", is_init=True)
    final = ContainerRunner({"name": "j", "command": ["false"]}, "Never", is_init=True)
    run_until_exit(retried, sandbox, 100.0)
    run_until_exit(final, sandbox, 100.0)
    assert retried.record.state == "waiting"
    assert final.done and not final.succeeded


def test_missing_config_map_keeps_the_container_waiting_and_is_retried(sandbox: Sandbox) -> None:
    missing = {"configMapKeyRef": {"name": "absent", "key": "k"}}
    spec = {"name": "c", "command": ["true"], "env": [{"name": "X", "valueFrom": missing}]}
    runner = ContainerRunner(spec, "Never")
    runner.tick(POD, sandbox, 100.0)
    assert (runner.record.state, runner.record.reason) == ("waiting", "CreateContainerConfigError")
    assert runner.record.message == 'configmap "absent" not found'
    assert runner.restart_at == 102.0


def test_container_without_command_cannot_run_on_the_stand_in(sandbox: Sandbox) -> None:
    runner = ContainerRunner({"name": "c", "image": "nginx"}, "Always")
    runner.tick(POD, sandbox, 100.0)
    assert (runner.record.state, runner.record.reason) == ("waiting", "CreateContainerError")
    assert "needs a command" in runner.record.message


def test_mount_point_that_cannot_be_created_is_a_run_error_retried_later(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    spec = {"name": "c", "command": ["true"],
            "volumeMounts": [{"name": "v", "mountPath": str(blocker / "sub")}]}  # fmt: skip
    runner = ContainerRunner(spec, "Never")
    runner.tick(POD, sandbox, 100.0)
    assert (runner.record.state, runner.record.reason) == ("waiting", "RunContainerError")
    assert (runner.restart_at, runner.runs) == (102.0, 0)
