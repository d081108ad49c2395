"""Mount points are created with their parents, recorded, and removed only by the last node."""

from __future__ import annotations

from pathlib import Path

from kubedrift_dev.devcluster.node.mountpoints import MountPoints


def test_mount_points_are_recorded_parents_first_and_removed_deepest_first(
    tmp_path: Path,
) -> None:
    registry, root = tmp_path / "registry", tmp_path / "root"
    root.mkdir()
    (root / "existing").mkdir()
    points = MountPoints(registry)

    points.ensure(str(root / "a" / "b"), is_file=False)
    points.ensure(str(root / "c" / "log"), is_file=True)
    points.ensure(str(root / "existing"), is_file=False)

    assert points.record.read_text().splitlines() == [
        str(root / "a"),
        str(root / "a" / "b"),
        str(root / "c"),
        str(root / "c" / "log"),
    ]
    assert points.release()
    assert [p.name for p in root.iterdir()] == ["existing"]
    assert not points.record.exists()


def test_only_the_last_node_to_release_removes_mount_points(tmp_path: Path) -> None:
    registry, root = tmp_path / "registry", tmp_path / "root"
    root.mkdir()
    first, second = MountPoints(registry), MountPoints(registry)
    first.ensure(str(root / "shared"), is_file=False)

    assert not first.release()  # second still runs and may have "shared" mounted
    assert (root / "shared").is_dir()
    assert second.release()
    assert not (root / "shared").exists()


def test_mount_points_that_something_else_filled_are_kept(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    points = MountPoints(tmp_path / "registry")
    points.ensure(str(root / "d"), is_file=False)
    (root / "d" / "keep").write_text("x")
    assert points.release()
    assert (root / "d" / "keep").read_text() == "x"


def test_release_twice_is_harmless(tmp_path: Path) -> None:
    points = MountPoints(tmp_path / "registry")
    assert points.release()
    assert not points.release()
