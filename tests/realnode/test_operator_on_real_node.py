"""The operator installed from the chart on the real node, and the sidecar it injects, both from
the project's own image, as they run on users' clusters.

The chart goes in as the README installs it (release ``kubedrift`` in ``kubedrift-system``, its
CRDs included) with the image the node imported, watching namespace ``ml``; both namespaces
enforce Pod Security ``restricted``. In ``ml`` a model Deployment (``digest_model_server.py``, run
by the image's Python from a ConfigMap) gets a ModelMonitor; the operator injects the sidecar,
which runs next to the model container in the Pod's network namespace. A client Pod sends traffic
through it; the operator, in another namespace, reads the sidecar's window across the Pod network
and writes the monitor's status; labels posted to README's feedback URL (the operator's Service)
join at the sidecar. Documented DNS names are resolved from a Pod.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.cluster_waiting import wait_for
from support.helm_tools import CHART, tools_for
from support.model_objects import model_monitor
from support.real_node import (
    IMAGE_USER,
    RealCluster,
    baseline_config_map,
    script_pod_template,
    scripts_config_map,
)

pytestmark = [pytest.mark.integration, pytest.mark.realnode, pytest.mark.tools]

HERE = Path(__file__).resolve().parent
SCRIPTS = [HERE / "digest_model_server.py", HERE / "paced_client.py"]
OPERATOR_NAMESPACE = "kubedrift-system"  # README's and the chart README's
MODELS = "ml"
MONITOR = "fraud-model"  # README's feedback URL names ml/fraud-model
OPERATOR = "app.kubernetes.io/name=kubedrift"
SIDECAR = "kubedrift-sidecar"
REQUESTS = 300
MODEL_COMMAND = ["python", "-u", "/scripts/digest_model_server.py"]
RESOLVE = "import socket, sys\nprint(socket.gethostbyname(sys.argv[1]))\n"
POST = (
    "import sys, urllib.request\n"
    "request = urllib.request.Request(sys.argv[1], data=sys.argv[3].encode(), headers={\n"
    "    'Authorization': 'Bearer ' + sys.argv[2], 'Content-Type': 'application/json'})\n"
    "print(urllib.request.urlopen(request, timeout=30).read().decode())\n"
)
FETCH = (
    "import sys, urllib.request\n"
    "print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())\n"
)


@dataclass
class Installed:
    real: RealCluster
    operator: dict[str, Any]
    model: dict[str, Any]


@pytest.fixture(scope="module")
def installed(real: RealCluster) -> Iterator[Installed]:
    """The chart installed and a monitored model running its injected sidecar."""
    tools = tools_for(real.control_plane.kubeconfig)
    repository, tag = real.image.rsplit(":", 1)
    with (
        real.restricted_namespace(exact=OPERATOR_NAMESPACE) as operators,
        real.restricted_namespace(exact=MODELS) as models,
    ):
        tools.run(
            "helm", "install", "kubedrift", str(CHART), "-n", operators,
            "--set", f"image.repository={repository}", "--set", f"image.tag={tag}",
            "--set", "image.pullPolicy=Never", "--set", f"watchNamespaces={{{models}}}",
        )  # fmt: skip
        try:
            real.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                         "crd/modelmonitors.kubedrift.io")  # fmt: skip
            operator = real.wait_ready_pod(operators, OPERATOR)
            real.apply(scripts_config_map("scripts", SCRIPTS), models)
            real.apply(baseline_config_map(), models)
            model = script_pod_template(real.image, MODEL_COMMAND, {"app": "model"})
            real.apply({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "model"},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "model"}},
                         "template": model},
            }, models)  # fmt: skip
            client = script_pod_template(real.image, ["sleep", "infinity"], {"app": "client"})
            real.apply({"apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": "client", **client["metadata"]},
                        "spec": client["spec"]}, models)  # fmt: skip
            real.apply(model_monitor(MONITOR), models)
            injected = wait_for(
                "the model Pod with the injected sidecar, ready",
                lambda: injected_pod(real, models),
            )
            real.wait_ready("client", models)
            yield Installed(real, operator, injected)
        finally:
            print(real.kubectl("logs", "-n", operators, "-l", OPERATOR, "--tail=80", check=False))
            tools.run("helm", "uninstall", "kubedrift", "-n", operators, "--wait", check=False)


def injected_pod(real: RealCluster, namespace: str) -> dict[str, Any] | None:
    pods = json.loads(real.kubectl("get", "pods", "-n", namespace, "-l", "app=model", "-o", "json"))
    for pod in pods["items"]:
        statuses = pod.get("status", {}).get("containerStatuses") or []
        names = {s["name"] for s in statuses if s.get("ready")}
        if {"model", SIDECAR} <= names and not pod["metadata"].get("deletionTimestamp"):
            document: dict[str, Any] = pod
            return document
    return None


def container_exec(real: RealCluster, pod: dict[str, Any], container: str, *argv: str) -> str:
    namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    return real.kubectl("exec", "-n", namespace, name, "-c", container, "--", *argv)


def capabilities(status: str) -> dict[str, str]:
    return dict(re.findall(r"^(Cap\w+|NoNewPrivs):\s+(\S+)$", status, re.MULTILINE))


def test_operator_from_the_chart_runs_the_image_non_root_read_only_without_capabilities(
    installed: Installed,
) -> None:
    real, operator = installed.real, installed.operator
    (container,) = operator["spec"]["containers"]
    assert container["image"] == real.image
    assert operator["spec"]["serviceAccountName"] == "kubedrift"
    assert container_exec(real, operator, "operator", "id", "-u").strip() == str(IMAGE_USER)
    denied = real.kubectl("exec", "-n", OPERATOR_NAMESPACE, operator["metadata"]["name"], "--",
                          "touch", "/opt/x", check=False)  # fmt: skip
    assert "Read-only file system" in denied
    status = capabilities(container_exec(real, operator, "operator", "cat", "/proc/1/status"))
    assert status["CapEff"] == status["CapPrm"] == status["CapBnd"] == "0000000000000000"
    assert status["NoNewPrivs"] == "1"
    # its ServiceAccount's token, not an admin's, is what it runs with
    token = container_exec(real, operator, "operator", "cat",
                           "/var/run/secrets/kubernetes.io/serviceaccount/token")  # fmt: skip
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
              "spec": {"token": token.strip()}}  # fmt: skip
    reviewed = real.kubectl("create", "-o", "json", "-f", "-", stdin=json.dumps(review))
    username = json.loads(reviewed)["status"]["user"]["username"]
    assert username == f"system:serviceaccount:{OPERATOR_NAMESPACE}:kubedrift"


def test_injected_sidecar_runs_the_image_beside_the_model_in_one_network_namespace(
    installed: Installed,
) -> None:
    real, model = installed.real, installed.model
    sidecar = next(c for c in model["spec"]["containers"] if c["name"] == SIDECAR)
    assert sidecar["image"] == real.image
    assert container_exec(real, model, SIDECAR, "id", "-u").strip() == "65534"
    status = capabilities(container_exec(real, model, SIDECAR, "cat", "/proc/1/status"))
    assert status["CapEff"] == status["CapBnd"] == "0000000000000000"
    namespaces = {c: container_exec(real, model, c, "readlink", "/proc/self/ns/net").strip()
                  for c in ("model", SIDECAR)}  # fmt: skip
    assert namespaces["model"] == namespaces[SIDECAR]
    pids = {c: container_exec(real, model, c, "readlink", "/proc/self/ns/pid").strip()
            for c in ("model", SIDECAR)}  # fmt: skip
    assert pids["model"] != pids[SIDECAR]  # two containers, one network namespace


def test_traffic_through_the_sidecar_is_forwarded_byte_for_byte_and_the_operator_reads_it(
    installed: Installed,
) -> None:
    real, model = installed.real, installed.model
    url = f"http://{model['status']['podIP']}:8480"
    load = ["/scripts/paced_client.py", url, "50", str(REQUESTS / 50), "2"]
    answer = real.kubectl("exec", "-n", MODELS, "client", "--", "python", *load)
    result = json.loads(answer)
    assert result["failures"] == []
    assert result["verified"] == REQUESTS

    # the operator, in another namespace, reads the sidecar's window across the Pod network
    def window_status() -> dict[str, Any] | None:
        status = json.loads(real.kubectl("get", "modelmonitor", MONITOR, "-n", MODELS,
                                         "-o", "json")).get("status") or {}  # fmt: skip
        samples = (status.get("window") or {}).get("samples")
        return status if samples == REQUESTS else None

    status = wait_for(f"status.window.samples = {REQUESTS}", window_status)
    assert status["sidecars"] == {"desired": 1, "reporting": 1}
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"

    # labels posted to the URL README gives reach the sidecar through the operator's Service
    secret = real.get("secret", f"{MONITOR}-kubedrift-token", MODELS)
    token = base64.b64decode(secret["data"]["sidecar-token"]).decode()
    labels = [{"id": f"r{number}", "label": 0} for number in range(10)]  # x < 0: predicted 0
    url = f"http://kubedrift.{OPERATOR_NAMESPACE}.svc:8080/v1/feedback/{MODELS}/{MONITOR}"
    answer = real.kubectl("exec", "-n", MODELS, "client", "--", "python", "-c", POST, url, token,
                          json.dumps(labels))  # fmt: skip
    counts = json.loads(answer)
    assert (counts["joined"], counts["rejected"]) == (10, [])


def test_documented_dns_names_resolve_from_a_pod(installed: Installed) -> None:
    real = installed.real
    # README and the chart's README/NOTES: the operator Service of release kubedrift
    operator_service = f"kubedrift.{OPERATOR_NAMESPACE}.svc"
    cluster_ip = real.get("service", "kubedrift", OPERATOR_NAMESPACE)["spec"]["clusterIP"]
    address = real.kubectl("exec", "-n", MODELS, "client", "--", "python", "-c", RESOLVE,
                           operator_service)  # fmt: skip
    assert address.strip() == cluster_ip
    metrics = real.kubectl("exec", "-n", MODELS, "client", "--", "python", "-c", FETCH,
                           f"http://{operator_service}:8080/metrics")  # fmt: skip
    assert "kubedrift_" in metrics
    # the in-cluster API server name every client library uses
    for name in ("kubernetes.default.svc", "kubernetes.default.svc.cluster.local"):
        resolved = real.kubectl("exec", "-n", MODELS, "client", "--", "python", "-c", RESOLVE,
                                name)  # fmt: skip
        assert resolved.strip() == real.get("service", "kubernetes", "default")["spec"]["clusterIP"]
