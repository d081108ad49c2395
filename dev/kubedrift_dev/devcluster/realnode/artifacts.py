"""Find what a real node runs: the kubelet, kube-proxy and CoreDNS binaries
(``tests/node/build.sh``) and the OCI archives of the pause, project and demo images
(``tests/node/images.sh``). Both scripts reuse their cache, or build."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

BINARIES = ("kubelet", "kube-proxy", "coredns")
BINARIES_ENV_VAR = "KUBEDRIFT_NODE_BIN"
IMAGES_ENV_VAR = "KUBEDRIFT_NODE_IMAGES"


class ArtifactsNotFoundError(RuntimeError):
    """A build script failed, or its directory lacks something."""


@dataclass(frozen=True)
class NodeImages:
    """The directory of ``pause.tar``, ``kubedrift.tar`` and ``demo.tar`` (the project image
    plus ``kubedrift_dev``: the demo's model server and retraining Job) and the names they
    carry."""

    directory: Path
    pause: str
    project: str
    demo: str

    @property
    def archives(self) -> list[Path]:
        return [self.directory / name for name in ("pause.tar", "kubedrift.tar", "demo.tar")]


def _script_output(script: Path) -> Path:
    if not script.exists():
        raise ArtifactsNotFoundError(f"{script} does not exist (run from the repository root)")
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ArtifactsNotFoundError(f"{script} failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def locate_node_binaries(repo_root: Path | None = None) -> Path:
    """``$KUBEDRIFT_NODE_BIN``, else what ``tests/node/build.sh`` prints."""
    explicit = os.environ.get(BINARIES_ENV_VAR)
    directory = (
        Path(explicit)
        if explicit
        else _script_output((repo_root or Path.cwd()) / "tests/node/build.sh")
    )
    missing = [b for b in BINARIES if not os.access(directory / b, os.X_OK)]
    if missing:
        raise ArtifactsNotFoundError(f"{directory} lacks {', '.join(missing)}")
    return directory


def locate_node_images(repo_root: Path | None = None) -> NodeImages:
    """``$KUBEDRIFT_NODE_IMAGES``, else what ``tests/node/images.sh`` prints."""
    explicit = os.environ.get(IMAGES_ENV_VAR)
    directory = (
        Path(explicit)
        if explicit
        else _script_output((repo_root or Path.cwd()) / "tests/node/images.sh")
    )
    try:
        lines = (directory / "images.env").read_text().splitlines()
    except FileNotFoundError as error:
        raise ArtifactsNotFoundError(f"{directory} lacks images.env") from error
    names = dict(line.split("=", 1) for line in lines if "=" in line)
    try:
        images = NodeImages(
            directory,
            pause=names["PAUSE_IMAGE"],
            project=names["PROJECT_IMAGE"],
            demo=names["DEMO_IMAGE"],
        )
    except KeyError as error:
        raise ArtifactsNotFoundError(f"{directory}/images.env lacks {error}") from error
    missing = [str(a) for a in images.archives if not a.is_file()]
    if missing:
        raise ArtifactsNotFoundError(f"missing image archives: {', '.join(missing)}")
    return images
