"""Fixtures of the delivery tests: a real helm (built by tests/tools/build.sh) and the chart."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.chart_render import Helm
from support.helm_build import build_helm

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def helm() -> Helm:
    """helm built from helm.sh/helm/v3 (cached outside git); fails loudly when it cannot build."""
    return Helm(build_helm(), REPO / "charts" / "kubedrift")
