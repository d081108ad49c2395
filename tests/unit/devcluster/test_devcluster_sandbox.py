"""The mount script each container runs through, and mount points created and removed."""

from __future__ import annotations

import subprocess
from pathlib import Path

from kubedrift.devcluster.node.sandbox import MountPoints, mount_script, sandboxed_argv
from kubedrift.devcluster.node.volumes import Mount


def test_mount_script_binds_each_volume_remounts_read_only_ones_and_execs() -> None:
    script = mount_script(
        [Mount(Path("/w/vol a"), "/etc/conf", read_only=True),
         Mount(Path("/w/term"), "/dev/termination-log", is_file=True)],
        "/work dir",
    )  # fmt: skip
    assert script.splitlines() == [
        "set -e",
        "mkdir -p /etc/conf",
        "mount --bind '/w/vol a' /etc/conf",
        "mount -o remount,bind,ro /etc/conf",
        '[ -e /dev/termination-log ] || { mkdir -p "$(dirname /dev/termination-log)"; '
        ": > /dev/termination-log; }",
        "mount --bind /w/term /dev/termination-log",
        "mkdir -p '/work dir' && cd '/work dir'",
        'exec "$@"',
    ]


def test_sandboxed_command_sees_the_mount_and_the_host_does_not(tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "greeting").write_text("hello")
    target = tmp_path / "mounted"
    target.mkdir()
    argv = sandboxed_argv([Mount(volume, str(target), read_only=True)], str(tmp_path),
                          ["cat", str(target / "greeting")])  # fmt: skip

    result = subprocess.run(argv, capture_output=True, text=True, check=False)

    assert (result.returncode, result.stdout) == (0, "hello")
    assert list(target.iterdir()) == []


def test_mount_points_are_recorded_and_removed_deepest_first(tmp_path: Path) -> None:
    record = tmp_path / "created.txt"
    points = MountPoints(record)
    existing = tmp_path / "existing"
    existing.mkdir()

    points.ensure(str(tmp_path / "a" / "b"), is_file=False)
    points.ensure(str(tmp_path / "c" / "log"), is_file=True)
    points.ensure(str(existing), is_file=False)

    assert record.read_text().splitlines() == [
        str(tmp_path / "a"), str(tmp_path / "a" / "b"), str(tmp_path / "c"),
        str(tmp_path / "c" / "log"),
    ]  # fmt: skip
    points.cleanup()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["created.txt", "existing"]


def test_cleanup_keeps_mount_points_that_something_else_filled(tmp_path: Path) -> None:
    points = MountPoints(tmp_path / "created.txt")
    points.ensure(str(tmp_path / "d"), is_file=False)
    (tmp_path / "d" / "keep").write_text("x")
    points.cleanup()
    assert (tmp_path / "d" / "keep").read_text() == "x"
