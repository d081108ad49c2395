"""The node stand-in's process: registers the Node, watches the Pods bound to it and runs a
:class:`~.worker.PodWorker` for each, until SIGTERM.

Run it as ``python -m kubedrift.devcluster.node --server URL --ca CA --cert CERT --key KEY
--name NODE --pod-cidr 127.0.1.0/24 --work-dir DIR`` (the launcher does).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from kubedrift.devcluster.node.cluster import PodApi
from kubedrift.devcluster.node.heartbeat import Heartbeat
from kubedrift.devcluster.node.logserver import LogServer
from kubedrift.devcluster.node.mountpoints import MountPoints
from kubedrift.devcluster.node.podips import AddressPool
from kubedrift.devcluster.node.rest import ApiError, Rest
from kubedrift.devcluster.node.serviceproxy import ServiceProxy
from kubedrift.devcluster.node.worker import NodeContext, PodWorker

log = logging.getLogger("kubedrift.devcluster.node")

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
WATCH_SECONDS = 60


def base_env(server: str, venv_bin: Path) -> dict[str, str]:
    """Environment every container starts from: the venv's tools first on PATH, and the API
    server where in-cluster clients look for it."""
    address = urlsplit(server)
    host, port = address.hostname or "127.0.0.1", str(address.port or 443)
    return {
        "PATH": f"{venv_bin}:{SYSTEM_PATH}",
        "LANG": "C.UTF-8",
        "KUBERNETES_SERVICE_HOST": host,
        "KUBERNETES_SERVICE_PORT": port,
        "KUBERNETES_SERVICE_PORT_HTTPS": port,
        "KUBERNETES_PORT": f"tcp://{host}:{port}",
    }


class PodWatcher(threading.Thread):
    """Lists, then watches, the Pods bound to ``node_name`` and keeps one worker per Pod UID.

    Reconnects after any error; relists (and treats Pods missing from the list as deleted) when
    the watch's resourceVersion has expired (410 Gone).
    """

    def __init__(self, rest: Rest, node_name: str, context: NodeContext,
                 stop: threading.Event) -> None:  # fmt: skip
        super().__init__(name="pod-watcher", daemon=True)
        self.rest = rest
        self.selector = f"spec.nodeName={node_name}"
        self.context = context
        self.stop = stop
        self.workers: dict[str, PodWorker] = {}

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
        pods_dir = self.context.pods_dir
        candidates = sorted(pods_dir.glob(f"{namespace}_{pod}_*/{container}.log"),
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
            worker = PodWorker(pod, self.context)
            self.workers[uid] = worker
            worker.start()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubedrift.devcluster.node")
    parser.add_argument("--server", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--name", default="kubedrift-node")
    parser.add_argument("--pod-cidr", default="127.0.1.0/24")
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--log-port", type=int, default=0,
                        help="port of the kubelet log endpoint (0: no endpoint)")  # fmt: skip
    parser.add_argument("--serving-cert", help="certificate of the log endpoint")
    parser.add_argument("--serving-key", help="key of the log endpoint")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(threadName)s %(message)s")  # fmt: skip
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    rest = Rest(args.server, args.ca, args.cert, args.key)
    mountpoints = MountPoints()
    context = NodeContext(
        api=PodApi(rest),
        pool=AddressPool(args.pod_cidr),
        mountpoints=mountpoints,
        base_env=base_env(args.server, Path(sys.executable).parent),
        pods_dir=args.work_dir / "pods",
    )
    watcher = PodWatcher(rest, args.name, context, stop)
    log_server = None
    if args.log_port:
        log_server = LogServer(("127.0.0.1", args.log_port), watcher.locate_log,
                               cert=args.serving_cert, key=args.serving_key,
                               client_ca=args.ca)  # fmt: skip
        log_server.start()
    heartbeat = Heartbeat(rest, args.name, args.pod_cidr, stop, log_port=args.log_port)
    heartbeat.start()
    while not heartbeat.registered.wait(0.5):
        if stop.is_set():
            return 0
    watcher.start()
    service_proxy = ServiceProxy(rest, stop)
    service_proxy.start()
    while not stop.wait(1.0):
        pass
    started = time.monotonic()
    if log_server is not None:
        log_server.shutdown()
    watcher.shutdown()
    service_proxy.join(timeout=5)
    mountpoints.release()
    log.info("node stopped in %.1fs", time.monotonic() - started)
    return 0
