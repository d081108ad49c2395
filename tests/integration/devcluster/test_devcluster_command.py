"""`python -m kubedrift_dev dev-cluster up/down`: a background cluster that answers, then leaves
nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from kubernetes import client, config

from kubedrift_dev.devcluster import locate_binaries

REPO = Path(__file__).resolve().parents[3]


def kubedrift(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubedrift_dev", *args], capture_output=True,
                          text=True, check=False, timeout=300)  # fmt: skip


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_up_writes_a_working_kubeconfig_and_down_stops_every_process(
    tmp_path: Path, cluster: Any
) -> None:
    directory = tmp_path / "dev"
    binaries = str(locate_binaries(repo_root=REPO))

    up = kubedrift("dev-cluster", "up", "--dir", str(directory), "--binaries", binaries)
    try:
        assert up.returncode == 0, up.stderr
        state = json.loads((directory / "state.json").read_text())
        assert state["kubeconfig"] == str(directory / "kubeconfig")
        components = {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "node"}
        assert set(state["components"]) == components
        api = client.CoreV1Api(config.new_client_from_config(config_file=state["kubeconfig"]))
        (node,) = api.list_node().items
        assert node.spec.pod_cidr == state["podCIDR"]
        if cluster.control_plane is not None:  # both run at once: on different addresses
            assert state["podCIDR"] != cluster.control_plane.ranges.pod_cidr
        again = kubedrift("dev-cluster", "up", "--dir", str(directory), "--binaries", binaries)
        assert again.stdout.startswith("already running")
    finally:
        down = kubedrift("dev-cluster", "down", "--dir", str(directory))

    assert down.returncode == 0, down.stderr
    assert not (directory / "state.json").exists()
    pids = [state["supervisor"], *state["components"].values()]
    assert [pid for pid in pids if alive(pid)] == []
