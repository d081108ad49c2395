"""helm for the chart tests: built from source by ``tests/tools/build.sh`` (cached outside the
repository)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def build_helm() -> Path:
    """The helm binary; fails the test loudly when it cannot be built."""
    built = subprocess.run(
        ["bash", str(REPO / "tests" / "tools" / "build.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        pytest.fail(f"tests/tools/build.sh could not build helm:\n{built.stderr[-4000:]}")
    return Path(built.stdout.strip().splitlines()[-1]) / "helm"
