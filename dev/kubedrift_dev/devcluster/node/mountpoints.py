"""Mount points on the host, created for containers and removed by the last node to stop.

A container's volumes are bind-mounted inside its private mount namespace, but the directory or
file to mount onto (``/var/run/secrets/kubernetes.io/serviceaccount``, ``/dev/termination-log``,
``/etc/app/config``...) must exist in the shared filesystem. Several node stand-ins can run on
one machine (a test session next to ``make cluster-up``), and removing a mount point that
another node's container has mounted would detach that mount. So every node holds a shared
lock on ``registry/lock`` while it runs; each mount point it creates is appended to
``registry/created``; and only the node that can take the lock exclusively when it stops (the
last one) removes the recorded paths.
"""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

DEFAULT_REGISTRY = Path("/run/kubedrift/mountpoints")


class MountPoints:
    """Creates missing mount points (recorded) and, in :meth:`release`, removes them when no
    other node on the machine still uses them.

    Example::

        points = MountPoints()
        points.ensure("/etc/app/config", is_file=False)
        ...
        points.release()
    """

    def __init__(self, registry: Path = DEFAULT_REGISTRY) -> None:
        registry.mkdir(parents=True, exist_ok=True)
        self.registry = registry
        self._lock = threading.Lock()
        self._holder = (registry / "lock").open("a")
        fcntl.flock(self._holder, fcntl.LOCK_SH)

    @property
    def record(self) -> Path:
        return self.registry / "created"

    def ensure(self, target: str, *, is_file: bool) -> None:
        """Create ``target`` (a directory, or an empty file) and its missing parents."""
        path = Path(target)
        with self._lock:
            missing = []
            probe = path.parent if is_file else path
            while not probe.exists():
                missing.append(probe)
                probe = probe.parent
            for directory in reversed(missing):
                directory.mkdir(exist_ok=True)
                self._remember(directory)
            if is_file and not path.exists():
                path.touch()
                self._remember(path)

    def release(self) -> bool:
        """Stop using mount points. The last node out removes every recorded one that is still
        empty, deepest first; returns whether this call did so."""
        with self._lock:
            if self._holder.closed:
                return False
            try:
                try:
                    fcntl.flock(self._holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False
                recorded = self.record.read_text().splitlines() if self.record.exists() else []
                for line in reversed(list(dict.fromkeys(recorded))):
                    _remove_if_empty(Path(line))
                self.record.unlink(missing_ok=True)
                return True
            finally:
                self._holder.close()

    def _remember(self, path: Path) -> None:
        with self.record.open("a") as record:
            record.write(f"{path}\n")


def _remove_if_empty(path: Path) -> None:
    try:
        if path.is_dir():
            path.rmdir()
        elif path.is_file() and path.stat().st_size == 0:
            path.unlink()
    except OSError:
        pass  # something else now lives there: keep it
