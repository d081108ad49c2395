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
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import kubedrift
from kubedrift_dev.devcluster.node.volumes import Mount, VolumeContent

TERMINATION_LOG = "/dev/termination-log"


@cache
def runtime_paths() -> tuple[str, ...]:
    """Host folders every container must keep seeing: the venv, the Python it was made from, and
    the folder ``kubedrift`` is imported from (an editable install lives in the checkout).

    A Pod may mount a volume over one of their parents (an emptyDir at ``/tmp`` while the
    checkout is under ``/tmp``); :func:`mount_script` then binds them back on top.
    """
    package_root = Path(kubedrift.__file__).resolve().parent.parent
    paths = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), package_root}
    return tuple(sorted(str(p) for p in paths))


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


def mount_script(
    mounts: Sequence[Mount], working_dir: str, keep: Sequence[str] | None = None
) -> str:
    """The shell script run inside the new mount namespace before ``exec "$@"``.

    Folders in ``keep`` (default :func:`runtime_paths`) that a volume would hide are opened
    before the volumes are mounted and bound back from those descriptors afterwards (the path
    itself would by then name the folder inside the volume; ``--no-canonicalize`` keeps
    ``mount`` from resolving the descriptor to that path). Their mount points are created inside
    the volume, so an emptyDir over ``/tmp`` shows the (empty) folders leading to them.
    """
    targets = [Path(m.target) for m in mounts]
    hidden = [
        k
        for k in (runtime_paths() if keep is None else keep)
        if any(Path(k).is_relative_to(t) for t in targets)
    ][:7]  # descriptors 3..9 are the ones a POSIX shell can name
    lines = ["set -e"]
    lines += [f"exec {fd}< {shlex.quote(k)}" for fd, k in enumerate(hidden, start=3)]
    for mount in mount_order(mounts):
        target = shlex.quote(mount.target)
        if mount.is_file:
            lines.append(f'[ -e {target} ] || {{ mkdir -p "$(dirname {target})"; : > {target}; }}')
        else:
            lines.append(f"mkdir -p {target}")
        lines.append(f"mount --bind {shlex.quote(str(mount.source))} {target}")
        if mount.read_only:
            lines.append(f"mount -o remount,bind,ro {target}")
    for fd, k in enumerate(hidden, start=3):
        lines.append(f"mkdir -p {shlex.quote(k)}")
        lines.append(f"mount --no-canonicalize --bind /proc/self/fd/{fd} {shlex.quote(k)}")
        lines.append(f"exec {fd}<&-")
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


def sandboxed_argv(
    mounts: Sequence[Mount],
    working_dir: str,
    command: Sequence[str],
    keep: Sequence[str] | None = None,
) -> list[str]:
    """The full command line that runs ``command`` with ``mounts`` in place."""
    script = mount_script(mounts, working_dir, keep)
    return [
        "setpriv", "--pdeathsig=KILL", "--",
        "unshare", "--mount", "--propagation", "private", "--",
        "/bin/sh", "-c", script, "container", *command,
    ]  # fmt: skip
