"""Every flag the launcher passes is one the pinned binaries know (flags move between releases)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from kubedrift_dev.devcluster import components, locate_binaries
from kubedrift_dev.devcluster.certs import Pki

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "command",
    [components.etcd_command, components.apiserver_command,
     components.controller_manager_command, components.scheduler_command],
    ids=["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"],
)  # fmt: skip
def test_launcher_flags_appear_in_the_binarys_help(
    command: Callable[[components.Layout], list[str]],
) -> None:
    pki = Pki(*(Path(f"/pki/{n}") for n in range(10)))
    ports = components.Ports(1, 2, 3, 4, 5, 6)
    layout = components.Layout(locate_binaries(repo_root=REPO), Path("/work"), pki, ports,
                               "127.0.101.0/24")  # fmt: skip
    argv = command(layout)
    result = subprocess.run([argv[0], "--help"], capture_output=True, text=True, check=False)
    text = result.stdout + result.stderr

    unknown = [
        flag for flag in (arg.split("=", 1)[0] for arg in argv[1:])
        if not re.search(rf"(^|\s){re.escape(flag)}(\s|=|$)", text, re.MULTILINE)
    ]  # fmt: skip

    assert unknown == []
