"""A component that dies during startup makes start() fail loudly, with its log, and leaves
nothing running."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubedrift_dev.devcluster import ControlPlane, ControlPlaneError
from kubedrift_dev.devcluster.ranges import RangeReservation


def stub(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def test_a_component_exiting_during_startup_fails_start_with_its_log(tmp_path: Path) -> None:
    binaries = tmp_path / "bin"
    binaries.mkdir()
    stub(binaries, "etcd", "echo 'etcd: cannot open data dir' >&2; exit 3")
    pid_file = tmp_path / "apiserver.pid"
    stub(binaries, "kube-apiserver", f"echo $$ > {pid_file}; exec sleep 300")
    control_plane = ControlPlane(binaries, tmp_path / "cluster", startup_timeout=60)

    with pytest.raises(ControlPlaneError) as failure:
        control_plane.start()

    message = str(failure.value)
    assert "etcd exited with code 3" in message
    assert "etcd: cannot open data dir" in message
    assert control_plane.processes == []
    # The API server stub, if it got as far as writing its pid (the file can exist but be empty
    # when the stop killed it between the shell's open and its write), must be gone.
    pid = pid_file.read_text().strip() if pid_file.exists() else ""
    if pid:
        state = Path(f"/proc/{int(pid)}/stat")
        assert not state.exists() or state.read_text().split(") ")[1][0] == "Z"
    reservation = RangeReservation()  # the address range is free again
    assert reservation.reserve(control_plane.ranges.index) == control_plane.ranges
    reservation.release()
