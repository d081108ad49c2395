"""The real node all ``tests/realnode`` modules share: one control plane with ``node="real"`` per
session (one real node per machine; it takes a machine-wide lock), stopped at the end, after which
nothing it added may remain on the host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kubedrift_dev.devcluster import ControlPlane, locate_binaries
from kubedrift_dev.devcluster.realnode.artifacts import IMAGES_ENV_VAR, locate_node_images
from support.real_node import RealCluster, host_leftovers

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    binaries = locate_binaries(repo_root=REPO)
    images = locate_node_images(REPO)
    control_plane = ControlPlane(
        binaries, tmp_path_factory.mktemp("realnode"), node="real", startup_timeout=300
    )
    with pytest.MonkeyPatch.context() as patch:
        # the node imports these very archives, even if the sources change meanwhile
        patch.setenv(IMAGES_ENV_VAR, str(images.directory))
        control_plane.start()
    try:
        yield RealCluster(control_plane, binaries / "kubectl", images.project, images.demo)
    finally:
        control_plane.stop()
    leftovers = host_leftovers(control_plane.work_dir)
    assert leftovers == [], f"the real node left these behind: {leftovers}"


@pytest.fixture
def restricted_namespace(real: RealCluster) -> Iterator[str]:
    with real.restricted_namespace() as name:
        yield name
