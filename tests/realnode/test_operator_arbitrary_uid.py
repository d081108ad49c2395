"""The operator from the project image under an arbitrary uid without a passwd entry, as
OpenShift's restricted SCC runs it (a uid from the namespace's range, e.g. 1000730000).

kopf names the operator after the passwd entry of its uid unless told otherwise
(``getpass.getuser()``), which raised at start for such a uid: the operator now names itself
(the Pod's name from the downward API). The chart goes in with ``operator.runAsUser`` and
``operator.runAsGroup`` set to that uid, in a namespace enforcing ``restricted``, and must
reconcile a monitor: inject the sidecar into the model's Deployment and report on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.cluster_waiting import wait_for
from support.helm_tools import CHART, tools_for
from support.model_objects import model_monitor
from support.real_node import (
    RealCluster,
    baseline_config_map,
    script_pod_template,
    scripts_config_map,
)

pytestmark = [pytest.mark.integration, pytest.mark.realnode, pytest.mark.tools]

HERE = Path(__file__).resolve().parent
ARBITRARY_UID = 1000730000  # the first uid of a typical OpenShift namespace range
RELEASE = "anyuid"
OPERATOR = "app.kubernetes.io/instance=anyuid"
MONITOR = "model"
SIDECAR = "kubedrift-sidecar"


@pytest.fixture(scope="module")
def operator_and_models(real: RealCluster) -> Iterator[tuple[dict[str, Any], str]]:
    """The chart's operator running as ``ARBITRARY_UID`` and the namespace of models it
    watches."""
    tools = tools_for(real.control_plane.kubeconfig)
    repository, tag = real.image.rsplit(":", 1)
    with (
        real.restricted_namespace(prefix="anyuid-system") as operators,
        real.restricted_namespace(prefix="anyuid-ml") as models,
    ):
        tools.run(
            "helm", "install", RELEASE, str(CHART), "-n", operators,
            "--set", f"image.repository={repository}", "--set", f"image.tag={tag}",
            "--set", "image.pullPolicy=Never", "--set", f"watchNamespaces={{{models}}}",
            "--set", f"operator.runAsUser={ARBITRARY_UID}",
            "--set", f"operator.runAsGroup={ARBITRARY_UID}",
        )  # fmt: skip
        try:
            real.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                         "crd/modelmonitors.kubedrift.io")  # fmt: skip
            yield real.wait_ready_pod(operators, OPERATOR), models
        finally:
            print(real.kubectl("logs", "-n", operators, "-l", OPERATOR, "--tail=80", check=False))
            tools.run("helm", "uninstall", RELEASE, "-n", operators, "--wait", check=False)


def test_operator_runs_as_an_arbitrary_uid_without_passwd_entry(
    real: RealCluster, operator_and_models: tuple[dict[str, Any], str]
) -> None:
    operator, _ = operator_and_models
    namespace, name = operator["metadata"]["namespace"], operator["metadata"]["name"]
    uid = real.kubectl("exec", "-n", namespace, name, "--", "id", "-u")
    assert uid.strip() == str(ARBITRARY_UID)
    nameless = real.kubectl("exec", "-n", namespace, name, "--", "id", "-un", check=False)
    assert f"cannot find name for user ID {ARBITRARY_UID}" in nameless
    (status,) = operator["status"]["containerStatuses"]
    assert status["restartCount"] == 0


def test_operator_under_an_arbitrary_uid_reconciles_a_monitor(
    real: RealCluster, operator_and_models: tuple[dict[str, Any], str]
) -> None:
    operator, models = operator_and_models
    real.apply(scripts_config_map("scripts", [HERE / "digest_model_server.py"]), models)
    real.apply(baseline_config_map(), models)
    template = script_pod_template(
        real.image, ["python", "-u", "/scripts/digest_model_server.py"], {"app": "model"}
    )
    real.apply({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "model"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "model"}},
                 "template": template},
    }, models)  # fmt: skip
    real.apply(model_monitor(MONITOR), models)

    def sidecar_reporting() -> dict[str, Any] | None:
        document = json.loads(real.kubectl("get", "modelmonitor", MONITOR, "-n", models,
                                           "-o", "json"))  # fmt: skip
        status: dict[str, Any] = document.get("status") or {}
        return status if status.get("sidecars") == {"desired": 1, "reporting": 1} else None

    status = wait_for("the monitor's sidecar injected and reporting", sidecar_reporting)
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    pods = json.loads(real.kubectl("get", "pods", "-n", models, "-l", "app=model", "-o", "json"))
    containers = {c["name"] for p in pods["items"] for c in p["spec"]["containers"]}
    assert containers == {"model", SIDECAR}
    # the operator never restarted on the way (a crash at start would show here)
    operator_now = real.get("pod", operator["metadata"]["name"], operator["metadata"]["namespace"])
    assert operator_now["status"]["containerStatuses"][0]["restartCount"] == 0
