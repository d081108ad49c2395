"""Follow the Pods bound to this node: one worker per Pod, told of every change.

:class:`PodWatcher` lists the Pods (``spec.nodeName`` field selector), then watches from the
list's resourceVersion. It reconnects after any error, and relists when the resourceVersion has
expired (410 Gone), treating Pods missing from the new list as deleted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from kubedrift_dev.devcluster.node.rest import ApiError, Rest

log = logging.getLogger(__name__)

WATCH_SECONDS = 60


class Worker(Protocol):
    """What the watcher needs of a Pod worker (:class:`~.worker.PodWorker`)."""

    pod_dir: Path

    def start(self) -> None: ...

    def is_alive(self) -> bool: ...

    def join(self, timeout: float | None = None) -> None: ...

    def update(self, pod: Mapping[str, Any]) -> None: ...

    def vanish(self) -> None: ...

    def shutdown(self) -> None: ...

    def container_running(self, name: str) -> bool: ...


class PodWatcher(threading.Thread):
    """Lists, then watches, the Pods bound to ``node_name`` and keeps one worker per Pod UID.

    Reconnects after any error; relists (and treats Pods missing from the list as deleted) when
    the watch's resourceVersion has expired (410 Gone).
    """

    def __init__(
        self,
        rest: Rest,
        node_name: str,
        stop: threading.Event,
        make_worker: Callable[[Mapping[str, Any]], Worker],
        *,
        pods_dir: Path,
    ) -> None:
        super().__init__(name="pod-watcher", daemon=True)
        self.rest = rest
        self.selector = f"spec.nodeName={node_name}"
        self.stop = stop
        self.make_worker = make_worker
        self.pods_dir = pods_dir
        self.workers: dict[str, Worker] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                version: str | None = self._relist()
                while version is not None and not self.stop.is_set():
                    version = self._watch(version)
            except (ApiError, OSError, ValueError) as error:
                log.warning("pod watch failed (%s); reconnecting", error)
                self.stop.wait(1.0)

    def locate_log(
        self, namespace: str, pod: str, container: str
    ) -> tuple[Path, Callable[[], bool]] | None:
        """The newest log file of ``container`` in Pod ``namespace/pod``, and a check whether
        that container still runs (for the log server)."""
        candidates = sorted(self.pods_dir.glob(f"{namespace}_{pod}_*/{container}.log"),
                            key=lambda path: path.stat().st_mtime)  # fmt: skip
        if not candidates:
            return None
        path = candidates[-1]
        worker = next((w for w in list(self.workers.values()) if w.pod_dir == path.parent), None)
        if worker is None:
            return path, lambda: False
        return path, lambda: worker.container_running(container)

    def shutdown(self) -> None:
        for worker in self.workers.values():
            worker.shutdown()
        for worker in self.workers.values():
            worker.join(timeout=15)

    def _relist(self) -> str:
        listing = self.rest.get("/api/v1/pods", fieldSelector=self.selector)
        seen = {pod["metadata"]["uid"] for pod in listing.get("items") or []}
        for uid in list(self.workers):
            if uid not in seen:
                self.workers.pop(uid).vanish()
        for pod in listing.get("items") or []:
            self._dispatch("MODIFIED", pod)
        version: str = listing["metadata"]["resourceVersion"]
        return version

    def _watch(self, version: str) -> str | None:
        """Follow one watch request; the version to resume from, or None to relist."""
        params = {"fieldSelector": self.selector, "resourceVersion": version,
                  "allowWatchBookmarks": "true", "timeoutSeconds": str(WATCH_SECONDS)}  # fmt: skip
        for event in self.rest.watch("/api/v1/pods", params, timeout=WATCH_SECONDS + 30):
            kind, pod = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                if pod.get("code") == 410:
                    return None
                raise ApiError(int(pod.get("code") or 500), pod)
            version = str(pod["metadata"]["resourceVersion"])
            if kind != "BOOKMARK":
                self._dispatch(str(kind), pod)
            if self.stop.is_set():
                break
        return version

    def _dispatch(self, kind: str, pod: Mapping[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        worker = self.workers.get(uid)
        if kind == "DELETED":
            if worker is not None:
                self.workers.pop(uid).vanish()
            return
        if worker is not None and worker.is_alive():
            worker.update(pod)
        elif worker is None:
            worker = self.make_worker(pod)
            self.workers[uid] = worker
            worker.start()
