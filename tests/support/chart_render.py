"""Run helm on the kubedrift chart and read what it renders, for the delivery tests."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

#: Every optional part of the chart switched on (with the values those parts require).
ALL_TOGGLES: dict[str, Any] = {
    "serviceMonitor": {"enabled": True},
    "prometheusRule": {"enabled": True},
    "grafanaDashboard": {"enabled": True},
    "networkPolicy": {
        "enabled": True,
        "namespaces": ["models"],
        "metricsNamespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
    },
    "retraining": {"allowedServiceAccounts": ["trainer"]},
    "operator": {"datasetUrl": "http://kubedrift.kubedrift-system.svc:8080"},
}


@dataclass(frozen=True)
class Helm:
    """A helm binary and the chart directory it works on."""

    binary: Path
    chart: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        answer = subprocess.run(
            [str(self.binary), *args], capture_output=True, text=True, check=False
        )
        if check and answer.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed:\n{answer.stderr}")
        return answer

    def template(
        self,
        values: Mapping[str, Any] | None = None,
        *,
        release: str = "kd",
        namespace: str = "kubedrift-system",
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """``helm template`` with ``values`` passed as a JSON values file on stdin."""
        return subprocess.run(
            [str(self.binary), "template", release, str(self.chart), "-n", namespace, "-f", "-"],
            input=json.dumps(dict(values or {})),
            capture_output=True,
            text=True,
            check=check,
        )

    def manifests(
        self, values: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> list[dict[str, Any]]:
        """The rendered objects (templates only; the CRDs come from crds/)."""
        text = self.template(values, **kwargs).stdout
        return [doc for doc in yaml.safe_load_all(text) if doc]


def find(
    manifests: list[dict[str, Any]], kind: str, name: str | None = None
) -> list[dict[str, Any]]:
    """The rendered objects of ``kind`` (and ``name`` when given)."""
    return [
        m
        for m in manifests
        if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)
    ]
