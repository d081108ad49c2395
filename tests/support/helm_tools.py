"""helm and kubectl bound to the test cluster, for the chart's integration tests."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubedrift_dev.devcluster import locate_binaries
from support.helm_build import build_helm

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "kubedrift"


@dataclass(frozen=True)
class Tools:
    """helm and kubectl, both talking to the test cluster."""

    helm: Path
    kubectl: Path
    kubeconfig: Path

    def run(self, tool: str, *args: str, stdin: str | None = None, check: bool = True) -> str:
        binary = self.helm if tool == "helm" else self.kubectl
        answer = subprocess.run(
            [str(binary), f"--kubeconfig={self.kubeconfig}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and answer.returncode != 0:
            raise AssertionError(f"{tool} {' '.join(args)} failed:\n{answer.stderr}")
        return answer.stdout + answer.stderr

    def template(self, release: str, namespace: str, values: dict[str, Any]) -> str:
        return self.run(
            "helm", "template", release, str(CHART), "-n", namespace, "-f", "-",
            stdin=json.dumps(values),
        )  # fmt: skip


def tools_for(kubeconfig: Path) -> Tools:
    """helm (built or reused by ``tests/tools/build.sh``) and the control plane's kubectl, bound
    to ``kubeconfig``."""
    return Tools(build_helm(), locate_binaries(repo_root=REPO) / "kubectl", kubeconfig)
