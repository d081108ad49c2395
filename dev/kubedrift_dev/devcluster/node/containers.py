"""One run of a container as a local process: start it, watch it end, read its termination
message, signal its process group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

#: The kubelet's limits on termination messages.
MESSAGE_LIMIT = 4096
FALLBACK_LINES = 80
FALLBACK_LIMIT = 2048
#: Restart back-off: 1 s doubling up to 60 s (the kubelet starts at 10 s and caps at 300 s;
#: shorter here so that tests of crash-looping Pods do not wait minutes).
BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 60.0


def backoff_seconds(restarts: int) -> float:
    """How long a container that has restarted ``restarts`` times waits before the next start."""
    return min(BACKOFF_INITIAL * 2.0 ** min(restarts, 16), BACKOFF_MAX)


def exit_status(returncode: int) -> tuple[int, int | None]:
    """``(exitCode, signal)`` in Kubernetes' terms from a ``Popen.returncode``."""
    if returncode < 0:
        return 128 - returncode, -returncode
    return returncode, None


class ContainerProcess:
    """A started container process, in its own session, logging to ``log_path`` (appended)."""

    def __init__(
        self, argv: Sequence[str], env: Mapping[str, str], log_path: Path, termination_file: Path
    ) -> None:
        self.log_path = log_path
        self.termination_file = termination_file
        termination_file.parent.mkdir(parents=True, exist_ok=True)
        termination_file.write_bytes(b"")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self._process = subprocess.Popen(
                list(argv),
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid = self._process.pid

    def poll(self) -> int | None:
        """The raw return code once ended (and reaped), else None.

        When the main process has ended, whatever it left in its process group is killed, as a
        container runtime does when a container's init process exits (its PID namespace ends):
        a child that ignores SIGTERM must not outlive its container.
        """
        code = self._process.poll()
        if code is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        return code

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the container's whole process group."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def wait(self, timeout: float) -> int | None:
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.poll()

    def termination_message(self, policy: str, exit_code: int) -> str:
        """The message for the terminated state: the termination file's content or, with policy
        ``FallbackToLogsOnError`` on failure and an empty file, the end of the log."""
        with contextlib.suppress(OSError):
            message = self.termination_file.read_bytes()[:MESSAGE_LIMIT]
            if message:
                return message.decode("utf-8", errors="replace")
        if policy == "FallbackToLogsOnError" and exit_code != 0:
            with contextlib.suppress(OSError):
                lines = self.log_path.read_bytes().splitlines()[-FALLBACK_LINES:]
                return b"\n".join(lines)[-FALLBACK_LIMIT:].decode("utf-8", errors="replace")
        return ""
