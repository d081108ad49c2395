"""Start and stop the control plane's long-running processes without leaving strays behind.

Every process runs in its own session (so its whole process group can be signalled) and under
``setpriv --pdeathsig``, so the kernel sends it a signal when the Python process that started it
dies, even by SIGKILL: an interrupted test run cannot leave an etcd or API server behind.
:meth:`ManagedProcess.stop` sends SIGTERM to the group, waits, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


class ManagedProcess:
    """One named component: its command line, its log file and, once started, its process.

    Example::

        etcd = ManagedProcess("etcd", ["etcd", "--data-dir", "/tmp/x"], Path("/tmp/etcd.log"))
        etcd.start()
        ...
        etcd.stop()
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        death_signal: str = "TERM",
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.death_signal = death_signal
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the process; its stdout and stderr go to :attr:`log_path` (appended)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                ["setpriv", f"--pdeathsig={self.death_signal}", "--", *self.argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )

    def exit_code(self) -> int | None:
        """The exit code once the process has ended (reaping it), else None."""
        return self._process.poll() if self._process is not None else None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``timeout`` seconds, and reap the process."""
        process = self._process
        if process is None:
            return
        terminate_group(process.pid, timeout, is_done=lambda: process.poll() is not None)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def terminate_group(
    pgid: int, timeout: float, is_done: Callable[[], bool] | None = None, poll: float = 0.05
) -> None:
    """SIGTERM process group ``pgid``; SIGKILL it if it has not ended within ``timeout`` seconds.

    ``is_done`` tells when the leader has ended (by default: the group no longer exists).
    The group is killed in the end in any case, so that children the leader forked die too.
    """
    done = is_done or (lambda: not group_exists(pgid))
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(poll)
    _signal_group(pgid, signal.SIGKILL)


def group_exists(pgid: int) -> bool:
    """Whether any process is still in process group ``pgid`` (zombies included)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
