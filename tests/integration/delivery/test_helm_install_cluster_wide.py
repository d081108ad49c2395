"""``helm install`` with the chart's defaults: the operator watches every namespace.

That is the default (``watchNamespaces: []``): the chart grants its rules through a ClusterRole
and starts ``kubedrift operator --all-namespaces``. An operator like that would act on every other
test's ModelMonitors, so this module runs a control plane of its own. The operator runs in-cluster
under the chart's ServiceAccount; namespaces created after it started are watched too, each
monitor is reconciled (status, sidecar injected, windows pulled), labels posted to the operator's
feedback endpoint reach the sidecar that served the request, and the API server refused the
operator nothing.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubedrift_dev.devcluster import ControlPlane, locate_binaries
from support.cluster_view import Cluster
from support.cluster_waiting import wait_for
from support.crd_install import install_crd
from support.helm_tools import CHART, Tools, tools_for
from support.json_post import post
from support.model_objects import OPERATOR, Namespace, create_monitored_model, ready, running

REPO = Path(__file__).resolve().parents[3]
RELEASE = "kubedrift"
SYSTEM_NAMESPACE = "kubedrift-system"
TEAMS = ("team-a", "team-b")


@pytest.fixture(scope="module")
def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    control_plane = ControlPlane(locate_binaries(repo_root=REPO),
                                 tmp_path_factory.mktemp("cluster-wide"))  # fmt: skip
    control_plane.start()
    try:
        cluster = Cluster(control_plane.kubeconfig, control_plane)
        install_crd(cluster.api_client())
        yield cluster
    finally:
        control_plane.stop()


@pytest.fixture(scope="module")
def installed(own_cluster: Cluster) -> Iterator[Tools]:
    """The chart installed with its default values; yields helm and kubectl for the cluster."""
    tools = tools_for(own_cluster.kubeconfig)
    system = Namespace(own_cluster, SYSTEM_NAMESPACE)
    try:
        tools.run("helm", "install", RELEASE, str(CHART), "-n", SYSTEM_NAMESPACE,
                  "--create-namespace", "--skip-crds")  # fmt: skip
        wait_for(
            "the operator Pod to be ready",
            lambda: any(ready(p, "operator") for p in system.pods(OPERATOR)),
        )
        yield tools
    finally:
        for path, text in own_cluster.container_logs(SYSTEM_NAMESPACE, tail=None).items():
            print(f"--- {path}\n{text[-20000:]}")


def test_default_install_watches_every_namespace_under_a_cluster_role(
    installed: Tools, own_cluster: Cluster
) -> None:
    rendered = installed.run("helm", "get", "manifest", RELEASE, "-n", SYSTEM_NAMESPACE)
    assert "kind: Role\n" not in rendered
    system = Namespace(own_cluster, SYSTEM_NAMESPACE)
    (operator,) = system.pods(OPERATOR)
    assert "--all-namespaces" in operator["spec"]["containers"][0]["args"]

    teams = []
    for name in TEAMS:  # created after the operator started
        system.core.create_namespace({"metadata": {"name": name}})
        team = Namespace(own_cluster, name)
        create_monitored_model(team, "watched")
        teams.append(team)

    for team in teams:
        wait_for(
            f"the monitor in {team.name} to become Ready",
            lambda team=team: (team.condition("watched", "Ready") or {}).get("status") == "True",
        )
        wait_for(
            f"the sidecar in {team.name} to report to the operator",
            lambda team=team: (team.status("watched").get("sidecars") or {}).get("reporting") == 1,
        )
        assert team.events("SidecarInjected")

    # A label for a request the sidecar in team-a served, posted to the operator's endpoint.
    team = teams[0]
    (pod,) = [p for p in team.pods("app=model") if running(p, "kubedrift-sidecar")]
    post(
        f"http://{pod['status']['podIP']}:8480/v2/models/demo/infer",
        {"id": "late-truth", "inputs": [{"name": "x", "shape": [1], "datatype": "FP64",
                                          "data": [0.5]}]},
    )  # fmt: skip
    secret = team.core.read_namespaced_secret("watched-kubedrift-token", team.name)
    token = base64.b64decode(secret.data["sidecar-token"]).decode()
    answer = post(
        f"http://{operator['status']['podIP']}:8080/v1/feedback/{team.name}/watched",
        {"id": "late-truth", "label": 1},
        token=token,
    )
    assert answer["joined"] == 1

    refused = [
        line
        for text in own_cluster.container_logs(SYSTEM_NAMESPACE, tail=None).values()
        for line in text.splitlines()
        if f'User "system:serviceaccount:{SYSTEM_NAMESPACE}:' in line
    ]
    assert refused == []
