"""The operator in-cluster, installed with the project's Helm chart (``charts/kubedrift``) into
the demo's namespace, watching only that namespace. On the local control plane its Pod runs as a
local process like every Pod; its ``/metrics`` and dataset endpoint listen on the Pod IP.

Use :meth:`ChartOperator.available` to learn whether helm and the chart are there (helm comes
from ``tests/tools/build.sh``, else ``PATH``); :meth:`start` raises :class:`ChartError` when the
install or the operator Pod fails, and the caller can fall back to a local process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

RELEASE = "kubedrift"
OPERATOR_SELECTOR = "app.kubernetes.io/name=kubedrift"
METRICS_PORT = 8080


class ChartError(RuntimeError):
    """The chart could not be installed, or its operator did not become ready."""


def find_helm(repo: Path) -> Path | None:
    script = repo / "tests" / "tools" / "build.sh"
    if script.exists():
        built = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
        if built.returncode == 0 and built.stdout.strip():
            helm = Path(built.stdout.strip().splitlines()[-1]) / "helm"
            if helm.exists():
                return helm
    found = shutil.which("helm")
    return Path(found) if found else None


class ChartOperator:
    """``helm install`` of ``charts/kubedrift`` (the CRD is installed separately)."""

    def __init__(
        self,
        helm: Path,
        *,
        chart: Path,
        kubectl: str,
        kubeconfig: Path,
        namespace: str,
        service_accounts: tuple[str, ...],
        image: str | None = None,
    ) -> None:
        self.helm = helm
        #: ``repository:tag`` of the operator and sidecar image; None: the chart's default
        self.image = image
        self.chart = chart
        self.kubectl = kubectl
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.service_accounts = service_accounts
        self.installed = False
        self.pod_ip = ""

    @property
    def url(self) -> str:
        return f"http://{self.pod_ip}:{METRICS_PORT}"

    @property
    def description(self) -> str:
        return (
            f"in-cluster, `helm install {RELEASE} charts/kubedrift -n {self.namespace} "
            f"--set watchNamespaces={{{self.namespace}}}` (Pod IP {self.pod_ip})"
        )

    def _run(self, *args: str) -> str:
        answer = subprocess.run(
            [str(self.helm), f"--kubeconfig={self.kubeconfig}", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if answer.returncode != 0:
            raise ChartError(f"helm {' '.join(args[:2])} failed: {answer.stderr.strip()[-2000:]}")
        return answer.stdout

    def start(self, timeout: float = 120.0) -> None:
        accounts = ",".join(self.service_accounts)
        image: list[str] = []
        if self.image is not None:
            repository, tag = self.image.rsplit(":", 1)
            image = ["--set", f"image.repository={repository}", "--set", f"image.tag={tag}"]
        self._run(
            "install",
            RELEASE,
            str(self.chart),
            "-n",
            self.namespace,
            "--skip-crds",
            "--set",
            f"watchNamespaces={{{self.namespace}}}",
            "--set",
            f"retraining.allowedServiceAccounts={{{accounts}}}",
            *image,
        )
        self.installed = True
        deadline = time.monotonic() + timeout
        while not self._ready():
            if time.monotonic() > deadline:
                raise ChartError(f"the operator Pod was not ready within {timeout:.0f}s")
            time.sleep(0.5)

    def _ready(self) -> bool:
        listed = subprocess.run(
            [
                self.kubectl,
                f"--kubeconfig={self.kubeconfig}",
                "-n",
                self.namespace,
                "get",
                "pods",
                "-l",
                OPERATOR_SELECTOR,
                "-o",
                "json",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if listed.returncode != 0:
            return False
        for pod in json.loads(listed.stdout)["items"]:
            statuses = pod.get("status", {}).get("containerStatuses") or []
            if any(s.get("ready") for s in statuses) and pod["status"].get("podIP"):
                self.pod_ip = pod["status"]["podIP"]
                return True
        return False

    def metrics(self) -> str:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as answer:
            return str(answer.read().decode())

    def stop(self) -> None:
        if self.installed:
            subprocess.run(
                [
                    str(self.helm),
                    f"--kubeconfig={self.kubeconfig}",
                    "uninstall",
                    RELEASE,
                    "-n",
                    self.namespace,
                    "--wait",
                    "--timeout",
                    "60s",
                ],
                capture_output=True,
                check=False,
            )
            self.installed = False
