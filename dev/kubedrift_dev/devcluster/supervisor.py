"""Keep a control plane running in the background for ``python -m kubedrift_dev dev-cluster up``.

``python -m kubedrift_dev.devcluster.supervisor --dir DIR`` starts a :class:`ControlPlane` in DIR,
writes ``DIR/state.json`` once it is ready, and stops it on SIGTERM or SIGINT. The components
are its children (with a parent-death signal), so they end with it.

``state.json`` keys: ``supervisor`` (this process's pid), ``components`` (name -> pid, each the
leader of its own process group), ``kubeconfig``, ``server``, ``podCIDR``, ``serviceCIDR``,
``logs``, ``ready`` (true) — or, when startup failed, ``error`` with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from kubedrift_dev.devcluster.binaries import locate_binaries
from kubedrift_dev.devcluster.launcher import NODE_KINDS, ControlPlane

STATE_FILE = "state.json"


def write_state(directory: Path, state: dict[str, Any]) -> None:
    temporary = directory / f".{STATE_FILE}.tmp"
    temporary.write_text(json.dumps(state, indent=2) + "\n")
    temporary.replace(directory / STATE_FILE)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubedrift_dev.devcluster.supervisor")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--binaries", type=Path)
    parser.add_argument("--range", type=int, help="address range number (default: first free)")
    parser.add_argument(
        "--node",
        choices=NODE_KINDS,
        default="standin",
        help="standin (Pods as local processes) or real (kubelet on containerd)",
    )
    args = parser.parse_args(argv)
    directory: Path = args.dir.resolve()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        control_plane = ControlPlane(
            locate_binaries(args.binaries), directory, range_index=args.range, node=args.node
        )
        control_plane.start()
    except Exception as error:  # report any startup failure to `dev-cluster up`
        write_state(directory, {"supervisor": os.getpid(), "error": str(error)})
        print(error, file=sys.stderr)
        return 1
    write_state(directory, {
        "supervisor": os.getpid(),
        "components": control_plane.pids(),
        "kubeconfig": str(control_plane.kubeconfig),
        "server": control_plane.server,
        "podCIDR": control_plane.pod_cidr,
        "serviceCIDR": control_plane.service_cidr,
        "node": args.node,
        "logs": str(control_plane.logs_dir),
        "ready": True,
    })  # fmt: skip
    while not stop.wait(1.0):
        pass
    control_plane.stop()
    (directory / STATE_FILE).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
