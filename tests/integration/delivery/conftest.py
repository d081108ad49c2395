"""Fixtures of the chart's integration tests: helm and kubectl bound to the test cluster, and
stand-ins for the prometheus-operator CRDs.

The test cluster has no prometheus-operator, so ``monitoring_crd_stand_ins`` installs minimal
CRDs named like the real ones (``servicemonitors``, ``podmonitors``, ``prometheusrules`` in
``monitoring.coreos.com/v1``) whose schema keeps any field: a server-side dry run then proves
that the chart's objects are well-formed Kubernetes objects of those kinds, not that their
``spec`` passes prometheus-operator's own schema (tests/unit/delivery checks the rules with
promtool).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from support.helm_tools import Tools, tools_for

STAND_INS = {"ServiceMonitor": "servicemonitors", "PodMonitor": "podmonitors",
             "PrometheusRule": "prometheusrules"}  # fmt: skip


@pytest.fixture(scope="session")
def tools(cluster: Any) -> Tools:
    return tools_for(cluster.kubeconfig)


def _stand_in(kind: str, plural: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.monitoring.coreos.com",
            "annotations": {"kubedrift.io/test-stand-in": "prometheus-operator CRD, schema open"},
        },
        "spec": {
            "group": "monitoring.coreos.com",
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(),
                      "listKind": f"{kind}List"},
            "versions": [{
                "name": "v1", "served": True, "storage": True,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": {"type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True}},
                }},
            }],
        },
    }  # fmt: skip


@pytest.fixture(scope="session")
def monitoring_crd_stand_ins(tools: Tools) -> Iterator[None]:
    """Stand-ins for prometheus-operator's CRDs (see the module docstring), Established."""
    documents = "\n---\n".join(json.dumps(_stand_in(k, p)) for k, p in STAND_INS.items())
    tools.run("kubectl", "apply", "--server-side", "-f", "-", stdin=documents)
    names = [f"crd/{plural}.monitoring.coreos.com" for plural in STAND_INS.values()]
    tools.run("kubectl", "wait", "--for=condition=Established", "--timeout=60s", *names)
    # Established can precede discovery by a moment; dry runs need the kinds discoverable.
    deadline = time.monotonic() + 60
    while "prometheusrules" not in tools.run("kubectl", "api-resources", check=False):
        if time.monotonic() > deadline:
            pytest.fail("monitoring.coreos.com stand-ins never appeared in discovery")
        time.sleep(0.5)
    yield
    tools.run("kubectl", "delete", "--wait=false", *names, check=False)
