"""A ModelMonitor of a KServe InferenceService (``spec.target.inferenceService``, issue 22) on
the real control plane, fed by KServe's own logger agent in front of KServe's Python model
server.

The InferenceService CRD is KServe's own (``config/crd/full`` of the KServe Go module) and the
agent is KServe's ``cmd/agent`` built from the same module (``tests/kserve_agent/build.sh``).
No KServe controller runs here, so the test stands in for it, and says so in the name: it turns
the InferenceService's ``spec.predictor.logger``, as the operator wrote it, into the agent's
flags (``--log-url``, ``--log-mode``, ...) of a predictor Deployment whose Pod runs the agent in
front of the model server (``tests/servers/kserve_side.py`` from ``.venv-kserve``), as KServe's
webhook does when it injects the agent. The agent finds the collector's Service by its cluster
DNS name in the Pod's hosts file and reaches it through the node stand-in's Service proxy.
"""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kubedrift.api.spec import parse_spec
from kubedrift.controller.collector import (
    build_collector_deployment,
    build_collector_service,
    plan_collector_update,
)
from kubedrift.controller.injection import SidecarOptions
from kubedrift.controller.names import MonitorRef
from kubedrift.stats.baseline import build_baseline
from support.cluster_waiting import wait_for
from support.controller_harness import free_port
from support.kserve_agent import KServeBuild, build_kserve, install_inference_service_crd

#: KServe's venv (``make servers``) and its agent built with Go (``make kserve-agent``).
pytestmark = pytest.mark.tools

REPO = Path(__file__).resolve().parents[3]
KSERVE_VENV = REPO / ".venv-kserve"
KSERVE_SIDE = REPO / "tests" / "servers" / "kserve_side.py"
FEATURES = ("f0", "f1", "f2", "f3")
CLASSES = ("high", "low")  # kserve_side.py answers class index 0 when f0 + f1 > 0
GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
#: The predictor's logger before the monitor exists; it must come back exactly.
ORIGINAL_LOGGER = {"mode": "request", "url": "http://dumper.example.svc"}


@pytest.fixture(scope="module")
def kserve_build() -> KServeBuild:
    return build_kserve()


@pytest.fixture
def inference_services(cluster: Any, kserve_build: KServeBuild) -> Iterator[Any]:
    """The InferenceService CRD installed from KServe's module; yields a CustomObjectsApi."""
    from kubernetes import client  # noqa: PLC0415

    install_inference_service_crd(cluster.api_client(), kserve_build.crd)
    yield client.CustomObjectsApi(cluster.api_client())


def baseline_json() -> str:
    """2000 seeded N(0, 1) rows; the class is "high" when the first two values sum above 0."""
    x = np.random.default_rng(5).normal(size=(2000, len(FEATURES)))
    labels = np.array([CLASSES[0] if a + b > 0 else CLASSES[1] for a, b in x[:, :2]], dtype=object)
    columns = {name: x[:, j] for j, name in enumerate(FEATURES)}
    return build_baseline(
        {**columns, "prediction": labels, "label": labels}, prediction="prediction", label="label"
    ).to_json()


def inference_service() -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "InferenceService",
        "metadata": {"name": "iris"},
        "spec": {
            "predictor": {
                "logger": ORIGINAL_LOGGER,
                "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "pvc://models/iris"},
            }
        },
    }


def encode_and_create_inference_service(kube: Any, inference_services: Any, folder: Path) -> None:
    """The requests KServe's own client encodes (``folder/requests.json``), iris's baseline and
    the InferenceService ``iris`` in the test's namespace."""
    python = KSERVE_VENV / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{KSERVE_VENV} is missing: run `make servers`")
    subprocess.run([str(python), str(KSERVE_SIDE), "encode", str(folder)], check=True,
                   timeout=300)  # fmt: skip
    kube.create_baseline("iris-baseline", baseline_json())
    inference_services.create_namespaced_custom_object(
        GROUP, VERSION, kube.namespace, PLURAL, inference_service()
    )


def kserve_controller_standin_predictor(
    isvc: dict[str, Any], agent: Path, agent_port: int, model_port: int
) -> dict[str, Any]:
    """What KServe's controller and webhook would run for ``isvc``'s predictor: the model server
    and, because the predictor has a logger, KServe's agent in front of it with the logger's
    url and mode as flags. Pods of the node stand-in share the host's network, so the agent's
    port and the model server's (the agent always calls 127.0.0.1) are free ports."""
    logger = isvc["spec"]["predictor"]["logger"]
    namespace = isvc["metadata"]["namespace"]
    labels = {"app": "iris-predictor"}
    model = {
        "name": "kserve-container",
        "image": "kserve-sklearnserver:0.21.0",
        "command": [
            str(KSERVE_VENV / "bin" / "python"),
            str(KSERVE_SIDE),
            "serve",
            str(model_port),
            str(free_port()),
        ],
        "env": [{"name": "PYTHONWARNINGS", "value": "ignore"}],
        "readinessProbe": {
            "httpGet": {"path": "/v2/models/iris/ready", "port": model_port},
            "periodSeconds": 1,
        },
    }
    probe = {"tcpSocket": {"port": model_port, "host": "127.0.0.1"}, "successThreshold": 1}
    flags = {
        "--port": str(agent_port),
        "--component-port": str(model_port),
        "--log-url": logger["url"],
        "--log-mode": logger["mode"],
        "--inference-service": isvc["metadata"]["name"],
        "--namespace": namespace,
        "--component": "predictor",
    }
    agent_container = {
        "name": "agent",
        "image": "kserve-agent:v0.16.0",
        "command": [str(agent)],
        "args": [part for flag in flags.items() for part in flag],
        "env": [{"name": "SERVING_READINESS_PROBE", "value": json.dumps(probe)}],
        "readinessProbe": {"tcpSocket": {"port": agent_port}, "periodSeconds": 1},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "iris-predictor"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [model, agent_container]},
            },
        },
    }


def start_predictor(
    kube: Any, namespace: str, isvc: dict[str, Any], agent: Path
) -> tuple[str, int]:
    """Create :func:`kserve_controller_standin_predictor`'s Deployment for ``isvc`` and wait for
    its Pod; the Pod's IP and the agent's port."""
    agent_port, model_port = free_port(), free_port()
    kube.apps.create_namespaced_deployment(
        namespace, kserve_controller_standin_predictor(isvc, agent, agent_port, model_port)
    )
    ip = wait_for(
        "the model server and KServe's agent ready",
        lambda: ready_pod_ip(kube, "app=iris-predictor", {"kserve-container", "agent"}),
        timeout=180,
    )
    return str(ip), agent_port


def ready_pod_ip(kube: Any, selector: str, containers: set[str]) -> str | None:
    for pod in kube.pods(selector):
        statuses = pod.get("status", {}).get("containerStatuses") or []
        ready = {s["name"] for s in statuses if s.get("ready")}
        if containers <= ready and not pod["metadata"].get("deletionTimestamp"):
            return str(pod["status"]["podIP"])
    return None


def admin_call(url: str, token: str, document: Any = None) -> Any:
    """GET ``url`` (or POST ``document``) on a sidecar's admin API with its bearer token."""
    data = None if document is None else json.dumps(document).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    request = urllib.request.Request(url, data, headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def monitor() -> dict[str, Any]:
    return {
        "apiVersion": "kubedrift.io/v1alpha1",
        "kind": "ModelMonitor",
        "metadata": {"name": "iris"},
        "spec": {
            "target": {"inferenceService": "iris", "port": 8080},
            "capture": {
                "maxSamplesPerSecond": 100000,
                "features": {"positions": list(FEATURES)},
                "classes": {"names": list(CLASSES)},
            },
            "baseline": {"configMapRef": {"name": "iris-baseline"}},
            "window": {"samples": 100000, "maxAge": "1h", "minSamples": 50},
            "evaluation": {"interval": "5s"},
        },
    }


def test_a_monitor_of_an_inference_service_collects_kserve_logger_events_and_gives_the_logger_back(
    kube: Any,
    operator: Any,
    inference_services: Any,
    kserve_build: KServeBuild,
    tmp_path: Path,
) -> None:
    namespace = kube.namespace
    encode_and_create_inference_service(kube, inference_services, tmp_path)
    kube.create_monitor(monitor())

    def isvc() -> dict[str, Any]:
        found: dict[str, Any] = inference_services.get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, "iris"
        )
        return found

    collector_url = f"http://iris-kubedrift-collector.{namespace}.svc:8480"
    taken = wait_for(
        "the operator to point the predictor's logger at its collector",
        lambda: (
            (found := isvc())["spec"]["predictor"].get("logger", {}).get("url") == collector_url
            and found
        ),
    )
    assert taken["spec"]["predictor"]["logger"] == {"mode": "all", "url": collector_url}
    annotations = taken["metadata"]["annotations"]
    assert json.loads(annotations["kubedrift.io/original-logger"]) == ORIGINAL_LOGGER
    assert annotations["kubedrift.io/monitor"] == "iris"
    wait_for(
        "the collector Pod ready",
        lambda: ready_pod_ip(kube, "kubedrift.io/collector=iris", {"kubedrift-sidecar"}),
        timeout=120,
    )
    collector = kube.deployment("iris-kubedrift-collector")
    assert collector["metadata"]["ownerReferences"][0]["kind"] == "ModelMonitor"

    ip, agent_port = start_predictor(kube, namespace, taken, kserve_build.agent)

    # iris's KServe v1 and OIP v2 JSON requests, as KServe's own client encodes them. (The binary
    # tensor extension needs the Inference-Header-Content-Length header, which the logger's
    # CloudEvents do not carry.)
    requests = json.loads((tmp_path / "requests.json").read_text())
    sent = [r for r in requests if r["model"] == "iris" and r["kind"] in ("v1", "v2-json")]
    send_through_agent(ip, agent_port, sent)
    rows = sum(len(item["rows"]) for item in sent)
    assert rows == 64

    status = wait_for(
        f"the evaluation of the {rows} rows the logger sent to the collector",
        lambda: (s := kube.status("iris")).get("window", {}).get("samples") == rows and s,
        timeout=120,
    )
    assert status["phase"] == "Healthy"
    assert sorted(f["name"] for f in status["drift"]["features"]) == sorted(FEATURES)
    assert status["drift"]["prediction"]["drifted"] is False
    # Labels sent to the operator's endpoint reach the collector and, joined on the Ce-Id, give
    # back every row the logger sent, with its prediction.
    collector_ip = ready_pod_ip(kube, "kubedrift.io/collector=iris", {"kubedrift-sidecar"})
    token = kube.secret_value("iris-kubedrift-token", "sidecar-token")
    feedback = [{"id": item["name"], "label": [CLASSES[0]] * len(item["rows"])} for item in sent]
    endpoint = f"http://127.0.0.1:{operator.port}/v1/feedback/{namespace}/iris"
    answer = admin_call(endpoint, token, feedback)
    assert answer["joined"] == len(sent)
    labeled = admin_call(f"http://{collector_ip}:8481/v1/labeled", token)["rows"]
    got = sorted(
        (tuple(row["features"][name] for name in FEATURES), row["prediction"]) for row in labeled
    )
    expected = sorted(
        (tuple(row), CLASSES[0] if row[0] + row[1] > 0 else CLASSES[1])
        for item in sent
        for row in item["rows"]
    )
    assert got == expected

    # The collector as stored (with the API server's defaults) has all the operator wants, so
    # later rounds send it no patch.
    ref = MonitorRef(namespace, "iris", kube.monitor("iris")["metadata"]["uid"])
    spec = parse_spec(monitor()["spec"])
    stored = kube.deployment("iris-kubedrift-collector")
    digest = stored["spec"]["template"]["metadata"]["annotations"]["kubedrift.io/config-hash"]
    wanted = build_collector_deployment(ref, spec, SidecarOptions(image="kubedrift:test"), digest)
    assert plan_collector_update(stored, wanted) is None
    service = kube.api.sanitize_for_serialization(
        kube.core.read_namespaced_service("iris-kubedrift-collector", namespace)
    )
    assert plan_collector_update(service, build_collector_service(ref, spec)) is None

    kube.custom.delete_namespaced_custom_object(
        "kubedrift.io", "v1alpha1", namespace, "modelmonitors", "iris"
    )
    restored = wait_for(
        "the predictor's own logger back",
        lambda: (found := isvc())["spec"]["predictor"].get("logger") == ORIGINAL_LOGGER and found,
    )
    leftovers = set(restored["metadata"].get("annotations") or {}) & {
        "kubedrift.io/original-logger",
        "kubedrift.io/monitor",
    }
    assert leftovers == set()
    wait_for(
        "the collector Deployment deleted",
        lambda: (
            not any(
                d.metadata.name == "iris-kubedrift-collector"
                for d in kube.apps.list_namespaced_deployment(namespace).items
            )
        ),
    )


def test_a_monitor_moved_to_another_inference_service_gives_the_first_its_logger_back(
    kube: Any, operator: Any, inference_services: Any
) -> None:
    """Also: target.port is not needed with inferenceService, and status.target (the Target
    column) names the InferenceService."""
    namespace = kube.namespace
    kube.create_baseline("iris-baseline", baseline_json())
    for name in ("iris", "rose"):
        body = inference_service()
        body["metadata"]["name"] = name
        inference_services.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    body = monitor()
    del body["spec"]["target"]["port"]
    kube.create_monitor(body)

    def logger(name: str) -> Any:
        found = inference_services.get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name
        )
        return found["spec"]["predictor"].get("logger"), found["metadata"].get("annotations") or {}

    collector_url = f"http://iris-kubedrift-collector.{namespace}.svc:8480"
    wait_for(
        "iris's logger pointed at the collector",
        lambda: logger("iris")[0] == {"mode": "all", "url": collector_url},
    )
    assert wait_for(
        "status.target naming iris",
        lambda: kube.status("iris").get("target") == "InferenceService/iris",
    )
    kube.custom.patch_namespaced_custom_object(
        "kubedrift.io", "v1alpha1", namespace, "modelmonitors", "iris",
        {"spec": {"target": {"inferenceService": "rose"}}},
    )  # fmt: skip

    wait_for("rose's logger pointed at the collector",
             lambda: logger("rose")[0] == {"mode": "all", "url": collector_url})  # fmt: skip
    restored, annotations = wait_for(
        "iris's own logger back", lambda: logger("iris")[0] == ORIGINAL_LOGGER and logger("iris")
    )
    assert restored == ORIGINAL_LOGGER
    assert not set(annotations) & {"kubedrift.io/original-logger", "kubedrift.io/monitor"}
    assert wait_for(
        "status.target naming rose",
        lambda: kube.status("iris").get("target") == "InferenceService/rose",
    )


def model_monitor(name: str, model: str) -> dict[str, Any]:
    """A monitor of one model (``spec.target.model``) of InferenceService iris."""
    body = monitor()
    body["metadata"]["name"] = name
    body["spec"]["target"]["model"] = model
    body["spec"]["window"]["minSamples"] = 20
    return body


def collector_deployment(kube: Any) -> dict[str, Any] | None:
    names = {d.metadata.name for d in kube.apps.list_namespaced_deployment(kube.namespace).items}
    return (
        kube.deployment("iris-kubedrift-collector") if "iris-kubedrift-collector" in names else None
    )


def collector_members(kube: Any) -> set[str]:
    found = collector_deployment(kube) or {}
    annotations = found.get("metadata", {}).get("annotations") or {}
    return set(json.loads(annotations.get("kubedrift.io/monitors") or "{}"))


def current_collector_ip(kube: Any, members: set[str]) -> str | None:
    """The collector Pod once its members are ``members``: of the current template, ready, and
    the only one (the logger posts through the Service, which must not pick a Pod on its way
    out)."""
    if collector_members(kube) != members:
        return None
    wanted = kube.deployment("iris-kubedrift-collector")["spec"]["template"]["metadata"][
        "annotations"
    ]["kubedrift.io/config-hash"]
    pods = kube.pods("kubedrift.io/collector=iris")
    if len(pods) != 1:
        return None
    for pod in pods:
        digest = (pod["metadata"].get("annotations") or {}).get("kubedrift.io/config-hash")
        statuses = pod.get("status", {}).get("containerStatuses") or []
        ready = bool(statuses) and all(s.get("ready") for s in statuses)
        if digest == wanted and ready and not pod["metadata"].get("deletionTimestamp"):
            return str(pod["status"]["podIP"])
    return None


def reaches_only_live_pods(kube: Any, namespace: str, service: str, port: int) -> bool:
    """Whether four requests in a row through ``service``'s ClusterIP get an HTTP answer (the
    collector answers a GET with 405). The node stand-in's service proxy forwards round-robin
    and refreshes its endpoints once a second, so right after a roll a connection may still go
    to a Pod that is gone and be reset, and KServe's agent does not retry a CloudEvent."""
    ip = kube.core.read_namespaced_service(service, namespace).spec.cluster_ip
    for _ in range(4):
        try:
            with urllib.request.urlopen(f"http://{ip}:{port}/", timeout=5):
                pass
        except urllib.error.HTTPError:
            continue  # an answer from a live Pod
        except OSError:
            return False
    return True


def send_through_agent(ip: str, port: int, items: list[dict[str, Any]]) -> None:
    """POST each recorded request to KServe's agent; a client that sets Ce-Id gets it as the
    CloudEvents' id, to send labels for later."""
    for item in items:
        request = urllib.request.Request(
            f"http://{ip}:{port}{item['path']}",
            base64.b64decode(item["body"]),
            {**item["headers"], "Ce-Id": item["name"]},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200


def test_monitors_of_two_models_of_one_inference_service_share_its_collector(
    kube: Any,
    operator: Any,
    inference_services: Any,
    kserve_build: KServeBuild,
    tmp_path: Path,
) -> None:
    """KServe's CloudEvents name no path: the shared collector routes each exchange by the
    ``model_name`` of its OIP response. KServe v1 responses name no model, so with two models
    they feed neither window."""
    namespace = kube.namespace
    encode_and_create_inference_service(kube, inference_services, tmp_path)

    def isvc() -> dict[str, Any]:
        found: dict[str, Any] = inference_services.get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, "iris"
        )
        return found

    kube.create_monitor(model_monitor("iris", "iris"))
    collector_url = f"http://iris-kubedrift-collector.{namespace}.svc:8480"
    taken = wait_for(
        "the logger pointed at iris's collector",
        lambda: (
            (found := isvc())["spec"]["predictor"].get("logger", {}).get("url") == collector_url
            and found
        ),
    )
    kube.create_monitor(model_monitor("wine", "wine"))
    collector_ip = wait_for(
        "one collector for iris and wine, ready",
        lambda: current_collector_ip(kube, {"iris", "wine"}),
        timeout=180,
    )
    deployments = {d.metadata.name for d in kube.apps.list_namespaced_deployment(namespace).items}
    assert deployments == {"iris-kubedrift-collector"}
    owners = kube.deployment("iris-kubedrift-collector")["metadata"]["ownerReferences"]
    assert sorted(o["name"] for o in owners) == ["iris", "wine"]

    ip, agent_port = start_predictor(kube, namespace, taken, kserve_build.agent)
    requests = json.loads((tmp_path / "requests.json").read_text())
    v2 = [r for r in requests if r["kind"] == "v2-json"]
    v1 = [r for r in requests if r["kind"] == "v1"]
    send_through_agent(ip, agent_port, v1 + v2)
    rows = {m: sum(len(r["rows"]) for r in v2 if r["model"] == m) for m in ("iris", "wine")}
    assert rows == {"iris": 32, "wine": 32}

    # wine's rows are shifted by 3 standard deviations, iris's are not; v1 rows feed neither
    iris = wait_for(
        "iris's evaluation of its 32 OIP rows",
        lambda: (s := kube.status("iris")).get("window", {}).get("samples") == 32 and s,
        timeout=120,
    )
    wine = wait_for(
        "wine's evaluation of its 32 OIP rows",
        lambda: (s := kube.status("wine")).get("window", {}).get("samples") == 32 and s,
        timeout=120,
    )
    assert iris["phase"] == "Healthy"
    assert not any(f["drifted"] for f in iris["drift"]["features"])
    assert wine["phase"] == "Drifting"
    assert sorted(f["name"] for f in wine["drift"]["features"] if f["drifted"]) == sorted(FEATURES)
    token = kube.secret_value("wine-kubedrift-token", "sidecar-token")
    window = admin_call(f"http://{collector_ip}:8481/v1/window?model=wine", token)
    assert window["model"] == "wine"
    # wine's labels, sent to the operator, reach the collector named after iris
    wine_sent = [r for r in v2 if r["model"] == "wine"]
    feedback = [{"id": r["name"], "label": [CLASSES[0]] * len(r["rows"])} for r in wine_sent]
    endpoint = f"http://127.0.0.1:{operator.port}/v1/feedback/{namespace}/wine"
    assert admin_call(endpoint, token, feedback)["joined"] == len(wine_sent)

    # the same model twice is refused with the reason
    kube.create_monitor(model_monitor("iris-again", "iris"))
    assert wait_for(
        "the second monitor of iris refused",
        lambda: kube.condition("iris-again", "Ready") == ("False", "TargetAlreadyMonitored"),
    )
    message = next(
        c["message"] for c in kube.status("iris-again")["conditions"] if c["type"] == "Ready"
    )
    assert "model iris of InferenceService iris is already monitored by ModelMonitor iris" in (
        message
    )
    kube.custom.delete_namespaced_custom_object(
        "kubedrift.io", "v1alpha1", namespace, "modelmonitors", "iris-again"
    )

    # deleting iris keeps the collector (and the logger) for wine
    kube.custom.delete_namespaced_custom_object(
        "kubedrift.io", "v1alpha1", namespace, "modelmonitors", "iris"
    )
    wait_for(
        "the collector kept for wine alone",
        lambda: current_collector_ip(kube, {"wine"}),
        timeout=180,
    )
    wait_for(
        "the collector's Service forwarding to the new Pod only",
        lambda: reaches_only_live_pods(kube, namespace, "iris-kubedrift-collector", 8480),
        timeout=60,
    )
    assert isvc()["spec"]["predictor"]["logger"] == {"mode": "all", "url": collector_url}
    owners = kube.deployment("iris-kubedrift-collector")["metadata"]["ownerReferences"]
    assert [o["name"] for o in owners] == ["wine"]
    send_through_agent(ip, agent_port, v2)
    wine = wait_for(
        "wine's evaluation of the 32 rows sent after iris's monitor went",
        lambda: (s := kube.status("wine")).get("window", {}).get("samples") == 32 and s,
        timeout=120,
    )
    assert wine["phase"] == "Drifting"

    # deleting the last one gives the predictor its logger back and removes the collector
    kube.custom.delete_namespaced_custom_object(
        "kubedrift.io", "v1alpha1", namespace, "modelmonitors", "wine"
    )
    restored = wait_for(
        "the predictor's own logger back",
        lambda: (found := isvc())["spec"]["predictor"].get("logger") == ORIGINAL_LOGGER and found,
    )
    assert not set(restored["metadata"].get("annotations") or {}) & {
        "kubedrift.io/original-logger",
        "kubedrift.io/monitor",
    }
    wait_for(
        "the collector Deployment deleted",
        lambda: collector_deployment(kube) is None,
    )
