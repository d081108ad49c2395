"""Find the control-plane binaries (etcd, kube-apiserver, kube-controller-manager, ...)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
#: Names the directory of prebuilt binaries; otherwise the repository's build script is used.
ENV_VAR = "KUBEDRIFT_CONTROLPLANE_BIN"
BUILD_SCRIPT = Path("tests/controlplane/build.sh")


class BinariesNotFoundError(RuntimeError):
    """No usable directory of control-plane binaries."""


def locate_binaries(explicit: Path | None = None, repo_root: Path | None = None) -> Path:
    """The directory holding the binaries: ``explicit``, else ``$KUBEDRIFT_CONTROLPLANE_BIN``,
    else what ``tests/controlplane/build.sh`` prints (it reuses its cache, or builds)."""
    if explicit is None and os.environ.get(ENV_VAR):
        explicit = Path(os.environ[ENV_VAR])
    if explicit is None:
        script = (repo_root or Path.cwd()) / BUILD_SCRIPT
        if not script.exists():
            raise BinariesNotFoundError(
                f"no --binaries given, ${ENV_VAR} unset and {script} does not exist"
            )
        result = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BinariesNotFoundError(f"{script} failed:\n{result.stderr[-4000:]}")
        explicit = Path(result.stdout.strip().splitlines()[-1])
    missing = [c for c in COMPONENTS if not os.access(explicit / c, os.X_OK)]
    if missing:
        raise BinariesNotFoundError(f"{explicit} lacks {', '.join(missing)}")
    return explicit
