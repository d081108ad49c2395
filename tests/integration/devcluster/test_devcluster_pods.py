"""What a Pod's processes see and how the node stand-in treats them: volumes at their mount
paths, a working in-cluster client with RBAC enforced, restarts, and deletion."""

from __future__ import annotations

import json
import os
import textwrap
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

IN_CLUSTER_SCRIPT = textwrap.dedent("""
    import json, os, pathlib
    from kubernetes import client, config
    facts = {}
    facts["config"] = pathlib.Path("/etc/kd/config/greeting").read_text()
    facts["secret"] = pathlib.Path("/etc/kd/secret/password").read_text()
    try:
        pathlib.Path("/etc/kd/config/other").write_text("x")
        facts["config_writable"] = True
    except OSError:
        facts["config_writable"] = False
    pathlib.Path("/scratch/note").write_text("scribbled")
    facts["scratch"] = pathlib.Path("/scratch/note").read_text()
    facts["env"] = [os.environ["GREETING"], os.environ["PASSWORD"], os.environ["MY_NAMESPACE"]]
    account = pathlib.Path("/var/run/secrets/kubernetes.io/serviceaccount")
    namespace = (account / "namespace").read_text()
    facts["namespace_file"] = namespace
    config.load_incluster_config()
    core = client.CoreV1Api()
    facts["configmaps"] = sorted(c.metadata.name for c in
                                 core.list_namespaced_config_map(namespace).items)
    try:
        core.list_namespaced_secret(namespace)
        facts["secrets"] = "allowed"
    except client.ApiException as error:
        facts["secrets"] = error.status
    pathlib.Path("/dev/termination-log").write_text(json.dumps(facts))
""")


def wait_for_phase(core: Any, namespace: str, name: str, wait: Callable[..., Any]) -> Any:
    def finished() -> Any:
        pod = core.read_namespaced_pod(name, namespace)
        return pod if pod.status.phase in ("Succeeded", "Failed") else None

    return wait(f"pod {name} to finish", finished)


def test_pod_sees_its_volumes_and_its_service_account_token_is_bound_by_rbac(
    cluster: Any, namespace: str, wait: Callable[..., Any]
) -> None:
    api = cluster.api_client()
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "settings"},
                                                  "data": {"greeting": "hello"}})  # fmt: skip
    core.create_namespaced_secret(namespace, {"metadata": {"name": "credentials"},
                                              "stringData": {"password": "s3cret"}})  # fmt: skip
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "reader"}})
    rbac.create_namespaced_role(namespace, {"metadata": {"name": "reader"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]})  # fmt: skip
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": namespace}],
    })  # fmt: skip
    core.create_namespaced_pod(namespace, {"metadata": {"name": "inside"}, "spec": {
        "restartPolicy": "Never",
        "serviceAccountName": "reader",
        "containers": [{
            "name": "main", "image": "python:3.11",
            "command": ["python", "-c", IN_CLUSTER_SCRIPT],
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "env": [
                {"name": "GREETING", "valueFrom": {
                    "configMapKeyRef": {"name": "settings", "key": "greeting"}}},
                {"name": "PASSWORD", "valueFrom": {
                    "secretKeyRef": {"name": "credentials", "key": "password"}}},
                {"name": "MY_NAMESPACE", "valueFrom": {
                    "fieldRef": {"fieldPath": "metadata.namespace"}}},
            ],
            "volumeMounts": [
                {"name": "config", "mountPath": "/etc/kd/config", "readOnly": True},
                {"name": "secret", "mountPath": "/etc/kd/secret", "readOnly": True},
                {"name": "scratch", "mountPath": "/scratch"},
            ],
        }],
        "volumes": [
            {"name": "config", "configMap": {"name": "settings"}},
            {"name": "secret", "secret": {"secretName": "credentials"}},
            {"name": "scratch", "emptyDir": {}},
        ],
    }})  # fmt: skip

    pod = wait_for_phase(core, namespace, "inside", wait)

    terminated = pod.status.container_statuses[0].state.terminated
    assert (pod.status.phase, terminated.exit_code) == ("Succeeded", 0), terminated.message
    facts = json.loads(terminated.message)
    assert facts == {
        "config": "hello",
        "secret": "s3cret",
        "config_writable": False,
        "scratch": "scribbled",
        "env": ["hello", "s3cret", namespace],
        "namespace_file": namespace,
        "configmaps": ["kube-root-ca.crt", "settings"],
        "secrets": 403,
    }
    if cluster.control_plane is not None:  # the mounts were private to the Pod's processes
        assert not Path("/etc/kd/config/greeting").exists()
        assert not Path("/scratch/note").exists()


def test_container_failing_once_under_on_failure_is_restarted_and_the_pod_succeeds(
    cluster: Any, namespace: str, wait: Callable[..., Any]
) -> None:
    core = client.CoreV1Api(cluster.api_client())
    script = ("import pathlib, sys; marker = pathlib.Path('/state/ran-before')\n"
              "if not marker.exists(): marker.touch(); sys.exit(3)")  # fmt: skip
    core.create_namespaced_pod(namespace, {"metadata": {"name": "flaky"}, "spec": {
        "restartPolicy": "OnFailure",
        "containers": [{"name": "main", "image": "python:3.11",
                        "command": ["python", "-c", script],
                        "volumeMounts": [{"name": "state", "mountPath": "/state"}]}],
        "volumes": [{"name": "state", "emptyDir": {}}],
    }})  # fmt: skip

    pod = wait_for_phase(core, namespace, "flaky", wait)

    status = pod.status.container_statuses[0]
    assert pod.status.phase == "Succeeded"
    assert status.restart_count == 1
    assert status.last_state.terminated.exit_code == 3
    assert status.state.terminated.exit_code == 0


PID_SERVER = textwrap.dedent("""
    import http.server, os, signal
    if os.environ["IGNORE_SIGTERM"] == "yes":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = str(os.getpid()).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    http.server.HTTPServer((os.environ["POD_IP"], 8080), Handler).serve_forever()
""")


@pytest.mark.parametrize("ignores_sigterm", [False, True], ids=["sigterm", "sigkill-after-grace"])
def test_deleting_a_pod_kills_its_process_and_removes_the_pod(
    cluster: Any, namespace: str, wait: Callable[..., Any], ignores_sigterm: bool
) -> None:
    if cluster.control_plane is None:
        pytest.fail("this test inspects local processes: run it against the local control plane")
    core = client.CoreV1Api(cluster.api_client())
    core.create_namespaced_pod(namespace, {"metadata": {"name": "server"}, "spec": {
        "terminationGracePeriodSeconds": 2,
        "containers": [{
            "name": "main", "image": "python:3.11", "command": ["python", "-c", PID_SERVER],
            "env": [{"name": "IGNORE_SIGTERM", "value": "yes" if ignores_sigterm else "no"}],
            "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
        }],
    }})  # fmt: skip

    def ready() -> Any:
        pod = core.read_namespaced_pod("server", namespace)
        ok = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
        return pod if ok else None

    pod = wait("pod server Ready", ready)
    url = f"http://{pod.status.pod_ip}:8080/"
    with urllib.request.urlopen(url, timeout=5) as response:
        pid = int(response.read())
    os.kill(pid, 0)  # the server is a process on this machine

    core.delete_namespaced_pod("server", namespace)

    def gone() -> bool:
        try:
            core.read_namespaced_pod("server", namespace)
        except client.ApiException as error:
            return error.status == 404
        return False

    wait("pod server to be removed", gone)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=5)


def test_init_containers_run_first_and_share_volumes_with_the_main_container(
    cluster: Any, namespace: str, wait: Callable[..., Any]
) -> None:
    core = client.CoreV1Api(cluster.api_client())
    core.create_namespaced_pod(namespace, {"metadata": {"name": "staged"}, "spec": {
        "restartPolicy": "Never",
        "initContainers": [
            {"name": "first", "image": "busybox", "command": ["sh", "-c", "echo one > /s/log"],
             "volumeMounts": [{"name": "s", "mountPath": "/s"}]},
            {"name": "second", "image": "busybox", "command": ["sh", "-c", "echo two >> /s/log"],
             "volumeMounts": [{"name": "s", "mountPath": "/s"}]},
        ],
        "containers": [{"name": "main", "image": "busybox",
                        "command": ["sh", "-c", "cat /s/log > /dev/termination-log"],
                        "volumeMounts": [{"name": "s", "mountPath": "/s"}]}],
        "volumes": [{"name": "s", "emptyDir": {}}],
    }})  # fmt: skip

    pod = wait_for_phase(core, namespace, "staged", wait)

    assert pod.status.phase == "Succeeded"
    assert [s.state.terminated.exit_code for s in pod.status.init_container_statuses] == [0, 0]
    assert pod.status.container_statuses[0].state.terminated.message == "one\ntwo\n"
    initialized = [c for c in pod.status.conditions if c.type == "Initialized"]
    assert initialized[0].status == "True"


def test_container_logs_are_served_through_the_api_like_kubectl_logs(
    cluster: Any, namespace: str, wait: Callable[..., Any]
) -> None:
    if cluster.control_plane is None:
        pytest.fail("this test reads the node stand-in's logs: run it on the local control plane")
    core = client.CoreV1Api(cluster.api_client())
    core.create_namespaced_pod(namespace, {"metadata": {"name": "talker"}, "spec": {
        "restartPolicy": "Never",
        "containers": [{"name": "main", "image": "busybox",
                        "command": ["sh", "-c", "echo one; echo two >&2; echo three"]}],
    }})  # fmt: skip
    wait_for_phase(core, namespace, "talker", wait)

    everything = core.read_namespaced_pod_log("talker", namespace, container="main")
    last = core.read_namespaced_pod_log("talker", namespace, tail_lines=1)

    assert everything == "one\ntwo\nthree\n"
    assert last == "three\n"
    with pytest.raises(client.ApiException) as missing:
        core.read_namespaced_pod_log("talker", namespace, container="absent")
    assert missing.value.status in (400, 404)
