"""The mount script each container runs through, and what the container sees with it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from kubedrift_dev.devcluster.node.sandbox import mount_script, sandboxed_argv
from kubedrift_dev.devcluster.node.volumes import Mount


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


def test_mount_over_a_directory_holding_other_volumes_comes_after_them() -> None:
    script = mount_script(
        [Mount(Path("/tmp/node/pod/tmp"), "/tmp"),
         Mount(Path("/tmp/node/pod/token"), "/run/secrets/sa", read_only=True)],
        "/",
    )  # fmt: skip
    binds = [line for line in script.splitlines() if line.startswith("mount --bind")]
    assert binds == [
        "mount --bind /tmp/node/pod/token /run/secrets/sa",
        "mount --bind /tmp/node/pod/tmp /tmp",
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


def test_a_volume_over_a_runtime_folder_gets_that_folder_bound_back_from_a_descriptor() -> None:
    script = mount_script([Mount(Path("/srv/node/pod/tmp"), "/tmp")], "/", keep=["/tmp/ck/.venv"])

    assert script.splitlines() == [
        "set -e",
        "exec 3< /tmp/ck/.venv",
        "mkdir -p /tmp",
        "mount --bind /srv/node/pod/tmp /tmp",
        "mkdir -p /tmp/ck/.venv",
        "mount --no-canonicalize --bind /proc/self/fd/3 /tmp/ck/.venv",
        "exec 3<&-",
        "mkdir -p / && cd /",
        'exec "$@"',
    ]


def test_runtime_folders_no_volume_hides_are_left_alone() -> None:
    script = mount_script([Mount(Path("/w/conf"), "/etc/conf")], "/", keep=["/opt/venv"])

    assert "/opt/venv" not in script


def test_sandboxed_command_keeps_seeing_a_runtime_folder_under_a_volume(tmp_path: Path) -> None:
    kept = tmp_path / "checkout" / "venv"
    kept.mkdir(parents=True)
    (kept / "python").write_text("interpreter")
    volume = tmp_path / "emptydir"
    volume.mkdir()
    argv = sandboxed_argv(
        [Mount(volume, str(tmp_path / "checkout"))],
        "/",
        ["cat", str(kept / "python")],
        keep=[str(kept)],
    )

    result = subprocess.run(argv, capture_output=True, text=True, check=False)

    assert (result.returncode, result.stdout, result.stderr) == (0, "interpreter", "")
