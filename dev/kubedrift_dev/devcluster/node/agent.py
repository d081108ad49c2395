"""The node stand-in's process: registers the Node, watches the Pods bound to it and runs a
:class:`~.worker.PodWorker` for each, until SIGTERM.

Run it as ``python -m kubedrift_dev.devcluster.node --server URL --ca CA --cert CERT --key KEY
--name NODE --pod-cidr 127.0.1.0/24 --work-dir DIR`` (the launcher does).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from kubedrift_dev.devcluster.node.heartbeat import Heartbeat
from kubedrift_dev.devcluster.node.logserver import LogServer
from kubedrift_dev.devcluster.node.mountpoints import MountPoints
from kubedrift_dev.devcluster.node.pod_api import PodApi
from kubedrift_dev.devcluster.node.pod_worker import NodeContext, PodWorker
from kubedrift_dev.devcluster.node.podips import AddressPool
from kubedrift_dev.devcluster.node.rest import Rest
from kubedrift_dev.devcluster.node.serviceproxy import ServiceProxy
from kubedrift_dev.devcluster.node.watcher import PodWatcher

log = logging.getLogger("kubedrift_dev.devcluster.node")

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def base_env(server: str, venv_bin: Path) -> dict[str, str]:
    """Environment every container starts from: the venv's tools first on PATH, the agent's
    ``PYTHONPATH`` if it has one (a worktree's Pods then run the worktree's ``kubedrift``, not
    the venv's editable install of another checkout), and the API server where in-cluster
    clients look for it."""
    address = urlsplit(server)
    host, port = address.hostname or "127.0.0.1", str(address.port or 443)
    inherited = {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}
    return {
        **inherited,
        "PATH": f"{venv_bin}:{SYSTEM_PATH}",
        "LANG": "C.UTF-8",
        "KUBERNETES_SERVICE_HOST": host,
        "KUBERNETES_SERVICE_PORT": port,
        "KUBERNETES_SERVICE_PORT_HTTPS": port,
        "KUBERNETES_PORT": f"tcp://{host}:{port}",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubedrift_dev.devcluster.node")
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
    watcher = PodWatcher(rest, args.name, stop, lambda pod: PodWorker(pod, context),
                         pods_dir=context.pods_dir)  # fmt: skip
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
