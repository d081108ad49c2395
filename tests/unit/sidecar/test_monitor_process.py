"""The monitor process yields the CPU to the request path, and never outlives the proxy process
that forked it: it ignores SIGTERM (the proxy decides when it stops), so a proxy that dies any other
way must take it along."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from support.sidecar_model_server import ModelServer
from support.sidecar_process import start_sidecar


def alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def wait_until_gone(pid: int, timeout: float = 30.0) -> bool:
    """Whether ``pid`` ended within ``timeout`` (a hang guard: death is asynchronous)."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_a_proxy_killed_by_sigkill_takes_its_monitor_along(
    model: ModelServer, baseline_file: Path
) -> None:
    sidecar = start_sidecar(model.port, baseline_file)
    (monitor,) = children(sidecar.process.pid)
    assert alive(monitor)

    sidecar.process.send_signal(signal.SIGKILL)
    sidecar.process.wait(timeout=30)

    assert wait_until_gone(monitor)


def test_die_with_parent_ends_a_child_whose_parent_exits_without_a_word(tmp_path: Path) -> None:
    """The parent exits while the channel was never watched: only the kernel's parent-death
    signal can end the child, which ignores SIGTERM like the monitor."""
    pid_file = tmp_path / "child"
    script = textwrap.dedent(f"""
        import os, signal, time
        from kubedrift.sidecar.sidecar_main import die_with_parent
        parent = os.getpid()
        if os.fork() == 0:
            die_with_parent(parent)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            open({str(pid_file)!r}, "w").write(str(os.getpid()))
            time.sleep(300)
            os._exit(0)
        while not os.path.exists({str(pid_file)!r}) or not open({str(pid_file)!r}).read():
            time.sleep(0.01)
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    child = int(pid_file.read_text())

    assert wait_until_gone(child)


@pytest.mark.parametrize(
    ("flags", "policy", "niceness"),
    [((), os.SCHED_IDLE, 10), (("--monitor-priority", "low"), os.SCHED_OTHER, 10)],
)
def test_the_monitor_runs_at_idle_priority_unless_asked_for_low(
    model: ModelServer, baseline_file: Path, flags: tuple[str, ...], policy: int, niceness: int
) -> None:
    sidecar = start_sidecar(model.port, baseline_file, *flags)
    try:
        (monitor,) = children(sidecar.process.pid)
        assert os.sched_getscheduler(monitor) == policy
        assert (
            os.getpriority(os.PRIO_PROCESS, monitor)
            - os.getpriority(os.PRIO_PROCESS, sidecar.process.pid)
            == niceness
        )
        assert os.sched_getscheduler(sidecar.process.pid) == os.SCHED_OTHER  # the proxy
    finally:
        sidecar.stop()


def test_on_a_saturated_cpu_the_monitor_still_starts_and_stops(
    model: ModelServer, baseline_file: Path
) -> None:
    """Busy loops on every CPU leave an idle-priority task almost nothing: the monitor starts at
    normal priority, turns idle once ready, and leaves idle priority again to stop (as root here;
    without the privilege the proxy gives it a bounded time and then kills it)."""
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 1)
    ]
    try:
        sidecar = start_sidecar(model.port, baseline_file)
        (monitor,) = children(sidecar.process.pid)
        assert os.sched_getscheduler(monitor) == os.SCHED_IDLE

        assert sidecar.stop() == 0
        assert wait_until_gone(monitor)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait(timeout=30)
