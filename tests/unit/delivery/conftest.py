"""Fixtures of the delivery tests: a real helm (built by tests/tools/build.sh) and the chart."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from chart_render import Helm

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def helm() -> Helm:
    """helm built from helm.sh/helm/v3 (cached outside git); fails loudly when it cannot build."""
    built = subprocess.run(
        ["bash", str(REPO / "tests" / "tools" / "build.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        pytest.fail(f"tests/tools/build.sh could not build helm:\n{built.stderr[-4000:]}")
    return Helm(Path(built.stdout.strip().splitlines()[-1]) / "helm", REPO / "charts" / "kubedrift")
