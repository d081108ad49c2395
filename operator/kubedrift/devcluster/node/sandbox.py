"""Give a container process its view of the filesystem: volumes bind-mounted at their mount
paths in a private mount namespace, and its termination message file.

Each container runs as ``unshare --mount --propagation private -- /bin/sh -c SCRIPT``: the script
(:func:`mount_script`) bind-mounts every volume, remounts read-only ones, changes to the working
directory and ``exec``s the container's command, so the process keeps the PID the stand-in
started. Mount points missing on the host are created first by
:class:`~.mountpoints.MountPoints`.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from kubedrift.devcluster.node.volumes import Mount, VolumeContent

TERMINATION_LOG = "/dev/termination-log"


def write_volume(content: VolumeContent, directory: Path) -> None:
    """Write ``content`` into ``directory`` (created if missing; existing files replaced)."""
    directory.mkdir(parents=True, exist_ok=True)
    for entry in content.files:
        path = directory / entry.path
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_bytes(entry.content)
        temporary.chmod(entry.mode)
        temporary.replace(path)


def mount_script(mounts: Sequence[Mount], working_dir: str) -> str:
    """The shell script run inside the new mount namespace before ``exec "$@"``."""
    lines = ["set -e"]
    for mount in mount_order(mounts):
        target = shlex.quote(mount.target)
        if mount.is_file:
            lines.append(f'[ -e {target} ] || {{ mkdir -p "$(dirname {target})"; : > {target}; }}')
        else:
            lines.append(f"mkdir -p {target}")
        lines.append(f"mount --bind {shlex.quote(str(mount.source))} {target}")
        if mount.read_only:
            lines.append(f"mount -o remount,bind,ro {target}")
    lines.append(f"mkdir -p {shlex.quote(working_dir)} && cd {shlex.quote(working_dir)}")
    lines.append('exec "$@"')
    return "\n".join(lines)


def mount_order(mounts: Sequence[Mount]) -> list[Mount]:
    """``mounts`` with those whose target would hide another mount's source moved last.

    The node keeps volumes under its directory (often below ``/tmp``); a Pod that mounts an
    emptyDir at ``/tmp`` would otherwise hide the sources of the mounts that follow it.
    """

    def hides_a_source(mount: Mount) -> bool:
        target = Path(mount.target)
        return any(o is not mount and o.source.is_relative_to(target) for o in mounts)

    return sorted(mounts, key=hides_a_source)


def sandboxed_argv(mounts: Sequence[Mount], working_dir: str, command: Sequence[str]) -> list[str]:
    """The full command line that runs ``command`` with ``mounts`` in place."""
    script = mount_script(mounts, working_dir)
    return [
        "setpriv", "--pdeathsig=KILL", "--",
        "unshare", "--mount", "--propagation", "private", "--",
        "/bin/sh", "-c", script, "container", *command,
    ]  # fmt: skip
