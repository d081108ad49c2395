"""`python -m kubedrift_dev dev-cluster up|down --dir DIR`: a local control plane in the background.

``up`` starts a supervisor process (:mod:`kubedrift_dev.devcluster.supervisor`) detached from the
terminal and returns once the cluster is ready, with ``DIR/kubeconfig`` written and
``DIR/state.json`` holding the pids. ``down`` stops it: SIGTERM to the supervisor, which stops
every component; any component still alive after that is killed by process group.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

STARTUP_TIMEOUT = 240.0
SHUTDOWN_TIMEOUT = 30.0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["up", "down"], help="start or stop the cluster")
    parser.add_argument("--dir", type=Path, default=Path(".dev-cluster"),
                        help="work directory: kubeconfig, state.json, logs "
                        "(default: %(default)s)")  # fmt: skip
    parser.add_argument("--binaries", type=Path,
                        help="directory with etcd, kube-apiserver, ... (default: "
                        "$KUBEDRIFT_CONTROLPLANE_BIN or tests/controlplane/build.sh)")  # fmt: skip
    parser.add_argument("--range", type=int, metavar="N",
                        help="address range: Pods on 127.0.N.0/24, Services on "
                        "127.0.(100+N).0/24 (default: the first one no other cluster "
                        "holds)")  # fmt: skip
    parser.add_argument("--node", choices=["standin", "real"], default="standin",
                        help="standin: Pods run as local processes (default); real: a "
                        "kubelet on containerd, kube-proxy, CoreDNS (root; one per "
                        "machine)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    if args.action == "up":
        return _up(args.dir.resolve(), args.binaries, args.range, args.node)
    return _down(args.dir.resolve())


def _up(directory: Path, binaries: Path | None, range_index: int | None, node: str) -> int:
    from kubedrift_dev.devcluster import locate_binaries  # noqa: PLC0415
    from kubedrift_dev.devcluster.processes import group_exists  # noqa: PLC0415
    from kubedrift_dev.devcluster.supervisor import STATE_FILE  # noqa: PLC0415

    state_file = directory / STATE_FILE
    if state_file.exists():
        state = json.loads(state_file.read_text())
        if state.get("ready") and group_exists(int(state["supervisor"])):
            print(f"already running: {state['kubeconfig']}")
            return 0
        state_file.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    binaries = locate_binaries(binaries)  # build before starting the clock
    log_path = directory / "supervisor.log"
    argv = [sys.executable, "-m", "kubedrift_dev.devcluster.supervisor", "--dir", str(directory),
            "--binaries", str(binaries)]  # fmt: skip
    if range_index is not None:
        argv += ["--range", str(range_index)]
    env = dict(os.environ)
    if node == "real":
        from kubedrift_dev.devcluster.realnode import artifacts  # noqa: PLC0415

        env[artifacts.BINARIES_ENV_VAR] = str(artifacts.locate_node_binaries())
        env[artifacts.IMAGES_ENV_VAR] = str(artifacts.locate_node_images().directory)
        argv += ["--node", "real"]
    with log_path.open("ab") as log:
        supervisor = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if state_file.exists():
            state = json.loads(state_file.read_text())
            if state.get("ready"):
                print(f"cluster ready: export KUBECONFIG={state['kubeconfig']}")
                print(f"Pods on {state['podCIDR']}, Services on {state['serviceCIDR']}")
                print(f"logs in {state['logs']}; stop with "
                      f"`python -m kubedrift_dev dev-cluster down --dir {directory}`")  # fmt: skip
                return 0
        if supervisor.poll() is not None:
            print(f"dev-cluster failed to start; see {log_path}:", file=sys.stderr)
            print(log_path.read_text(errors="replace")[-4000:], file=sys.stderr)
            return 1
        time.sleep(0.5)
    print(f"dev-cluster not ready after {STARTUP_TIMEOUT:.0f}s; see {log_path}", file=sys.stderr)
    supervisor.terminate()
    return 1


def _down(directory: Path) -> int:
    from kubedrift_dev.devcluster.processes import terminate_group  # noqa: PLC0415
    from kubedrift_dev.devcluster.supervisor import STATE_FILE  # noqa: PLC0415

    state_file = directory / STATE_FILE
    if not state_file.exists():
        print(f"no dev-cluster running in {directory}")
        return 0
    state = json.loads(state_file.read_text())
    # Signal only processes that are still ours (a stale state.json may name reused pids).
    if _command_line_mentions(int(state["supervisor"]), "kubedrift_dev.devcluster.supervisor"):
        terminate_group(int(state["supervisor"]), SHUTDOWN_TIMEOUT)
    for pid in (state.get("components") or {}).values():
        if _command_line_mentions(int(pid), str(directory)):
            terminate_group(int(pid), 5.0)
    state_file.unlink(missing_ok=True)
    print(f"dev-cluster in {directory} stopped")
    return 0


def _command_line_mentions(pid: int, text: str) -> bool:
    try:
        return text.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
