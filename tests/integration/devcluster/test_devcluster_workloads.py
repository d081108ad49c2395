"""Deployments and Jobs run for real: the controller manager creates the Pods, the scheduler
binds them, the node stand-in runs their commands as local processes."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

from kubernetes import client

SERVER = """
import http.server, json, os
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"pid": os.getpid(), "pod": os.environ["MY_NAME"]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer((os.environ["MY_IP"], 8000), Handler).serve_forever()
"""


def http_server_container() -> dict[str, Any]:
    return {
        "name": "web",
        "image": "python:3.11",
        "command": ["python", "-u", "-c", SERVER],
        "env": [
            {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "MY_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        "ports": [{"name": "http", "containerPort": 8000}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1},
    }


#: The Pods of the ``web`` Deployment and Service.
WEB = {"app": "web"}
WEB_SERVICE = {
    "metadata": {"name": "web"},
    "spec": {"selector": WEB, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
}


def web_deployment(replicas: int, **pod_spec: Any) -> dict[str, Any]:
    """The ``web`` Deployment: ``replicas`` Python HTTP servers; ``pod_spec``, more Pod fields."""
    template = {"labels": WEB}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": WEB},
            "template": {
                "metadata": template,
                "spec": {**pod_spec, "containers": [http_server_container()]},
            },
        },
    }


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        document: dict[str, Any] = json.load(response)
        return document


def condition(obj: Any, type_: str) -> str | None:
    for entry in obj.status.conditions or []:
        if entry.type == type_:
            return str(entry.status)
    return None


def test_deployment_of_python_http_server_becomes_available_and_answers_at_its_pod_ip(
    cluster: Any, namespace: str, wait: Callable[..., Any]
) -> None:
    api = cluster.api_client()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(namespace, web_deployment(replicas=2))

    def available() -> bool:
        return condition(apps.read_namespaced_deployment_status("web", namespace),
                         "Available") == "True"  # fmt: skip

    wait("Deployment web Available", available)

    pods = core.list_namespaced_pod(namespace, label_selector="app=web").items
    assert len(pods) == 2
    assert len({pod.status.pod_ip for pod in pods}) == 2
    for pod in pods:
        assert pod.status.pod_ip.startswith("127.")
        assert pod.status.phase == "Running"
        answer = get_json(f"http://{pod.status.pod_ip}:8000/")
        assert answer["pod"] == pod.metadata.name


def job(name: str, exit_code: int) -> dict[str, Any]:
    script = f"open('/dev/termination-log', 'w').write('exiting {exit_code}'); exit({exit_code})"
    return {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "main", "image": "python:3.11", "command": ["python", "-c", script]}]}}},
    }  # fmt: skip


def test_job_exiting_0_is_complete_and_job_exiting_1_is_failed(
    cluster: Any, namespace: str, wait: Callable[..., Any]
) -> None:
    api = cluster.api_client()
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job(namespace, job("succeeds", 0))
    batch.create_namespaced_job(namespace, job("fails", 1))

    def finished(name: str) -> Any:
        found = batch.read_namespaced_job_status(name, namespace)
        done = {"Complete", "Failed"} & {
            c.type for c in found.status.conditions or [] if c.status == "True"
        }
        return found if done else None

    succeeded = wait("Job succeeds to finish", lambda: finished("succeeds"))
    failed = wait("Job fails to finish", lambda: finished("fails"))

    assert condition(succeeded, "Complete") == "True"
    assert condition(failed, "Failed") == "True"
    assert condition(failed, "Complete") is None
    for name, code, phase in (("succeeds", 0, "Succeeded"), ("fails", 1, "Failed")):
        (pod,) = core.list_namespaced_pod(namespace, label_selector=f"job-name={name}").items
        assert pod.status.phase == phase
        terminated = pod.status.container_statuses[0].state.terminated
        assert terminated.exit_code == code
        assert terminated.message == f"exiting {code}"


def test_rolling_update_replaces_every_pod_of_a_deployment(
    cluster: Any, namespace: str, wait: Callable[..., Any]
) -> None:
    api = cluster.api_client()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(
        namespace, web_deployment(replicas=2, terminationGracePeriodSeconds=5)
    )

    def rolled_out(generation: int) -> bool:
        found = apps.read_namespaced_deployment_status("web", namespace)
        status = found.status
        return (
            status.observed_generation == generation
            and status.updated_replicas == 2
            and status.available_replicas == 2
            and not status.unavailable_replicas
            and (status.replicas or 0) == 2
        )

    wait("first rollout", lambda: rolled_out(1))
    before = {p.metadata.uid for p in core.list_namespaced_pod(namespace).items}
    apps.patch_namespaced_deployment("web", namespace, {"spec": {"template": {"metadata": {
        "annotations": {"kubedrift.io/restartedAt": "now"}}}}})  # fmt: skip

    wait("second rollout", lambda: rolled_out(2))
    wait("old pods removed", lambda: len(core.list_namespaced_pod(namespace).items) == 2)

    after = core.list_namespaced_pod(namespace).items
    assert not before & {p.metadata.uid for p in after}
    for pod in after:
        assert get_json(f"http://{pod.status.pod_ip}:8000/")["pod"] == pod.metadata.name


def test_service_cluster_ip_forwards_to_every_ready_pod(
    cluster: Any, namespace: str, wait: Callable[..., Any]
) -> None:
    api = cluster.api_client()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(namespace, web_deployment(replicas=2))
    service = core.create_namespaced_service(namespace, WEB_SERVICE)
    url = f"http://{service.spec.cluster_ip}:80/"

    def answering_pods() -> set[str] | None:
        seen = set()
        for _ in range(6):
            try:
                seen.add(get_json(url)["pod"])
            except OSError:
                return None
        return seen if len(seen) == 2 else None

    pods = wait("both pods answering through the Service", answering_pods)

    assert pods == {p.metadata.name for p in core.list_namespaced_pod(namespace).items}


CLIENT = """
import json, os, urllib.request
def pod_behind(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)["pod"]
by_env = f"http://{os.environ['WEB_SERVICE_HOST']}:{os.environ['WEB_SERVICE_PORT']}/"
answers = [pod_behind(by_env), pod_behind("http://web/"), pod_behind("http://web.%s.svc:80/")]
open("/dev/termination-log", "w").write(json.dumps(answers))
"""


def test_pods_reach_services_by_name_and_by_service_environment_variables(
    cluster: Any, namespace: str, wait: Callable[..., Any]
) -> None:
    api = cluster.api_client()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(namespace, web_deployment(replicas=1))
    core.create_namespaced_service(namespace, WEB_SERVICE)

    def web_ready() -> bool:
        (web,) = core.list_namespaced_pod(namespace, label_selector="app=web").items or [None]
        return web is not None and condition(web, "Ready") == "True"

    wait("the web Pod Ready", web_ready)

    core.create_namespaced_pod(namespace, {"metadata": {"name": "client"}, "spec": {
        "restartPolicy": "OnFailure",
        "containers": [{"name": "main", "image": "python:3.11",
                        "command": ["python", "-c", CLIENT % namespace]}]}})  # fmt: skip

    def finished() -> Any:
        found = core.read_namespaced_pod("client", namespace)
        return found if found.status.phase == "Succeeded" else None

    done = wait("the client Pod to succeed", finished)
    (web,) = core.list_namespaced_pod(namespace, label_selector="app=web").items
    answers = json.loads(done.status.container_statuses[0].state.terminated.message)
    assert answers == [web.metadata.name] * 3
