"""Container processes: exit codes in Kubernetes' terms, back-off, termination messages; and the
control plane's managed processes leave nothing behind."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from kubedrift_dev.devcluster.node.containers import ContainerProcess, backoff_seconds, exit_status
from kubedrift_dev.devcluster.processes import ManagedProcess

ENV = {"PATH": "/usr/bin:/bin"}


@pytest.mark.parametrize(("code", "expected"), [(0, (0, None)), (3, (3, None)), (-9, (137, 9)),
                                                (-15, (143, 15))])  # fmt: skip
def test_exit_status_maps_signals_to_128_plus_n(
    code: int, expected: tuple[int, int | None]
) -> None:
    assert exit_status(code) == expected


def test_back_off_doubles_from_one_second_up_to_a_minute() -> None:
    assert [backoff_seconds(n) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]


def run_to_end(tmp_path: Path, script: str) -> tuple[ContainerProcess, int]:
    process = ContainerProcess(["sh", "-c", script], ENV, tmp_path / "c.log", tmp_path / "term")
    code = process.wait(30)
    assert code is not None
    return process, code


def test_termination_message_comes_from_the_file(tmp_path: Path) -> None:
    process, code = run_to_end(tmp_path, f"echo noise; printf done > {tmp_path / 'term'}; exit 4")
    assert code == 4
    assert process.termination_message("File", 4) == "done"
    assert (tmp_path / "c.log").read_text() == "noise\n"


def test_fallback_to_logs_only_on_error_with_an_empty_file(tmp_path: Path) -> None:
    process, code = run_to_end(tmp_path, "echo one; echo two; exit 1")
    assert process.termination_message("FallbackToLogsOnError", code) == "one\ntwo"
    assert process.termination_message("File", code) == ""
    assert process.termination_message("FallbackToLogsOnError", 0) == ""


def test_signal_reaches_the_whole_process_group(tmp_path: Path) -> None:
    process = ContainerProcess(["sh", "-c", "sleep 300 & sleep 300; wait"], ENV,
                               tmp_path / "c.log", tmp_path / "term")  # fmt: skip
    process.signal(signal.SIGKILL)
    assert process.wait(10) == -9
    process.signal(signal.SIGKILL)  # a second signal to a gone group is harmless


def test_what_a_container_leaves_behind_dies_with_its_main_process(tmp_path: Path) -> None:
    """Like a PID namespace ending with its init: a child that ignores SIGTERM (the sidecar's
    monitor process does) does not outlive the container's main process."""
    child = tmp_path / "child"
    script = f"(trap '' TERM; exec sleep 300) & echo $! > {child}; exit 0"
    _, code = run_to_end(tmp_path, script)
    assert code == 0
    child_pid = int(child.read_text())
    subprocess.run(["sh", "-c", f"while grep -q '^State:.*[RSD]' /proc/{child_pid}/status "
                    "2>/dev/null; do sleep 0.05; done"], check=True, timeout=10)  # fmt: skip
    assert not running(child_pid)


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for init to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_managed_process_stop_ends_its_children_too(tmp_path: Path) -> None:
    child = tmp_path / "child"
    managed = ManagedProcess("sleeper", ["sh", "-c", f"sleep 300 & echo $! > {child}; wait"],
                             tmp_path / "sleeper.log", env=ENV)  # fmt: skip
    managed.start()
    subprocess.run(["sh", "-c", f"while [ ! -s {child} ]; do sleep 0.05; done"], check=True,
                   timeout=30)  # fmt: skip
    child_pid = int(child.read_text())
    assert running(child_pid)

    managed.stop(timeout=5)

    assert managed.exit_code() is not None
    # SIGKILL is delivered asynchronously: allow the kernel a moment (bounded) to finish it.
    subprocess.run(["sh", "-c", f"while grep -q '^State:.*[RSD]' /proc/{child_pid}/status "
                    "2>/dev/null; do sleep 0.05; done"], check=True, timeout=10)  # fmt: skip
    assert not running(child_pid)
