"""A real node (kubelet on containerd, kube-proxy, CoreDNS) runs the project's own image.

The session's real node (``tests/realnode/conftest.py``: a control plane with ``node="real"``,
one real node per machine) runs these, marked ``realnode`` as well as ``integration``:
``make test`` runs the ``realnode`` tests in a pytest invocation of their own after the others
(``make node-test`` runs only them). Needs root, ``make node-packages``, and builds or reuses the
node's binaries (``tests/node/build.sh``) and images (``tests/node/images.sh``); a missing piece
fails the tests, it never skips them.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from typing import Any

import pytest

from support.real_node import IMAGE_USER, RESTRICTED, RealCluster

pytestmark = [pytest.mark.integration, pytest.mark.realnode]

# Serves GET / with a fixed body, logs each request to stderr (kubectl logs shows it).
SERVER = (
    "import http.server\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        body = b'served by the project image'\n"
    "        self.send_response(200); self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers(); self.wfile.write(body)\n"
    "http.server.ThreadingHTTPServer(('', 8080), H).serve_forever()\n"
)
FETCH = (
    "import sys, urllib.request\n"
    "print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())\n"
)
RESOLVE = "import socket, sys\nprint(socket.gethostbyname(sys.argv[1]))\n"
# An in-cluster client: the API server's /version through the kubernetes Service, verified
# against the ServiceAccount's CA, authenticated with its token.
API_VERSION = (
    "import json, ssl, urllib.request\n"
    "sa = '/var/run/secrets/kubernetes.io/serviceaccount/'\n"
    "context = ssl.create_default_context(cafile=sa + 'ca.crt')\n"
    "request = urllib.request.Request('https://kubernetes.default.svc/version',\n"
    "    headers={'Authorization': 'Bearer ' + open(sa + 'token').read()})\n"
    "print(json.load(urllib.request.urlopen(request, context=context, timeout=10))['major'])\n"
)


def pod(name: str, image: str, command: list[str], labels: dict[str, str]) -> dict[str, Any]:
    """A Pod that passes the restricted profile; one running SERVER is Ready once it listens."""
    probe = {"tcpSocket": {"port": 8080}, "periodSeconds": 1} if command[-1] == SERVER else None
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "securityContext": {"runAsUser": IMAGE_USER, "runAsGroup": IMAGE_USER},
            "containers": [{
                "name": "main", "image": image, "imagePullPolicy": "Never",
                "command": command, "securityContext": RESTRICTED,
                "ports": [{"containerPort": 8080}],
                "resources": {"limits": {"cpu": "250m", "memory": "128Mi"}},
                **({"readinessProbe": probe} if probe else {}),
            }],
        },
    }  # fmt: skip


def test_project_image_serves_as_non_root_read_only_behind_a_service_and_dns_name(
    real: RealCluster, restricted_namespace: str
) -> None:
    ns = restricted_namespace
    real.kubectl("apply", "-n", ns, "-f", "-", stdin=json.dumps({
        "apiVersion": "v1", "kind": "List", "items": [
            {**pod("web", real.image, ["python", "-c", SERVER], {"app": "web"}),
             "metadata": {"name": "web", "namespace": ns, "labels": {"app": "web"}}},
            {**pod("client", real.image, ["python", "-c", "import time; time.sleep(86400)"],
                   {"app": "client"}),
             "metadata": {"name": "client", "namespace": ns, "labels": {"app": "client"}}},
            {"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": "web", "namespace": ns},
             "spec": {"selector": {"app": "web"},
                      "ports": [{"port": 80, "targetPort": 8080}]}},
        ]}))  # fmt: skip
    web = real.wait_ready("web", ns)
    real.wait_ready("client", ns)
    pod_ip = web["status"]["podIP"]
    cluster_ip = real.get("service", "web", ns)["spec"]["clusterIP"]
    assert pod_ip.startswith("10.244.")
    assert cluster_ip.startswith("10.245.")

    # runc applied the security context: uid 65532, read-only root filesystem
    assert real.kubectl("exec", "-n", ns, "web", "--", "id", "-u").strip() == "65532"
    denied = real.kubectl("exec", "-n", ns, "web", "--", "touch", "/opt/x", check=False)
    assert "Read-only file system" in denied

    # the Service's ClusterIP (kube-proxy) and its DNS name (CoreDNS) answer from another Pod
    fetch = ["exec", "-n", ns, "client", "--", "python", "-c", FETCH]
    assert real.kubectl(*fetch, f"http://{cluster_ip}/").strip() == "served by the project image"
    name = f"web.{ns}.svc.cluster.local"
    resolve = ["exec", "-n", ns, "client", "--", "python", "-c", RESOLVE]
    assert real.kubectl(*resolve, name).strip() == cluster_ip
    assert real.kubectl(*fetch, f"http://{name}/").strip() == "served by the project image"
    assert real.kubectl(*fetch, "http://web/").strip() == "served by the project image"

    # the API server through the kubernetes Service, as the operator in a Pod reaches it
    version = real.kubectl("exec", "-n", ns, "client", "--", "python", "-c", API_VERSION)
    assert version.strip() == "1"

    # kubectl logs reaches the kubelet: the server logged the requests above
    logs = real.kubectl("logs", "-n", ns, "web")
    assert logs.count('"GET / HTTP/1.1" 200') >= 3


def test_runc_applies_the_cpu_and_memory_limits(
    real: RealCluster, restricted_namespace: str
) -> None:
    ns = restricted_namespace
    document = pod("limited", real.image, ["python", "-c", "import time; time.sleep(86400)"], {})
    real.kubectl("apply", "-n", ns, "-f", "-", stdin=json.dumps(document))
    real.wait_ready("limited", ns)
    read = ["exec", "-n", ns, "limited", "--", "cat"]
    # cgroup v1 here: 250m is a quota of 25 ms per 100 ms period
    assert real.kubectl(*read, "/sys/fs/cgroup/cpu/cpu.cfs_quota_us").strip() == "25000"
    assert real.kubectl(*read, "/sys/fs/cgroup/cpu/cpu.cfs_period_us").strip() == "100000"
    limit = real.kubectl(*read, "/sys/fs/cgroup/memory/memory.limit_in_bytes").strip()
    assert limit == str(128 * 2**20)


def test_port_forward_reaches_a_pod(real: RealCluster, restricted_namespace: str) -> None:
    ns = restricted_namespace
    document = pod("served", real.image, ["python", "-c", SERVER], {})
    real.kubectl("apply", "-n", ns, "-f", "-", stdin=json.dumps(document))
    real.wait_ready("served", ns)
    argv = [str(real.kubectl_path), f"--kubeconfig={real.control_plane.kubeconfig}",
            "port-forward", "-n", ns, "pod/served", ":8080", "--address=127.0.0.1"]  # fmt: skip
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as forward:
        assert forward.stdout is not None
        line = forward.stdout.readline()  # "Forwarding from 127.0.0.1:PORT -> 8080"
        match = re.search(r"127\.0\.0\.1:(\d+) -> 8080", line)
        assert match, f"kubectl port-forward said {line!r}"
        url = f"http://127.0.0.1:{match.group(1)}/"
        try:
            with urllib.request.urlopen(url, timeout=20) as response:
                assert response.read() == b"served by the project image"
        finally:
            forward.terminate()


def test_kubelet_and_kube_proxy_read_every_field_of_their_configuration(real: RealCluster) -> None:
    # Both fall back to lenient decoding, logging why, when a field name is wrong.
    for component in ("kubelet", "kube-proxy"):
        log = (real.control_plane.logs_dir / f"{component}.log").read_text()
        assert "strict decoding error" not in log, component


def test_restricted_namespace_refuses_a_pod_that_may_run_as_root(
    real: RealCluster, restricted_namespace: str
) -> None:
    document = pod("root", real.image, ["python", "-c", "pass"], {})
    del document["spec"]["securityContext"]
    document["spec"]["containers"][0]["securityContext"] = {}
    answer = real.kubectl("apply", "-n", restricted_namespace, "-f", "-",
                          stdin=json.dumps(document), check=False)  # fmt: skip
    assert 'violates PodSecurity "restricted:latest"' in answer
