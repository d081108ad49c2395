"""Every module name leads to one file: no two modules of the package and its development tools
share a name (``__init__`` and ``__main__`` aside), so ``status.py`` or ``runtime.py`` cannot
mean two things to someone new to the code."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = [REPO / "operator" / "kubedrift", REPO / "dev" / "kubedrift_dev"]


def test_no_two_modules_share_a_name() -> None:
    places: defaultdict[str, list[str]] = defaultdict(list)
    for package in PACKAGES:
        for path in package.rglob("*.py"):
            if path.name not in ("__init__.py", "__main__.py"):
                places[path.name].append(str(path.relative_to(REPO)))
    assert len(places) > 100  # the walk found the packages
    assert {name: paths for name, paths in places.items() if len(paths) > 1} == {}
