"""A real node (kubelet on containerd, kube-proxy, CoreDNS) runs the project's own image.

The module starts its own control plane with ``node="real"`` (one real node per machine), so it
is marked ``realnode`` as well as ``integration`` and runs with ``make node-test``, not with
``make test`` (yet). Needs root, ``make node-packages``, and builds or reuses the node's binaries
(``tests/node/build.sh``) and images (``tests/node/images.sh``).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kubedrift_dev.devcluster import ControlPlane, locate_binaries
from kubedrift_dev.devcluster.realnode.artifacts import locate_node_images

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.realnode]

#: the kubelet, runc and the images are real: Pods start within seconds, this is the limit
POD_DEADLINE = 180.0
RESTRICTED = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
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


@dataclass
class RealCluster:
    control_plane: ControlPlane
    kubectl_path: Path
    image: str

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        argv = [str(self.kubectl_path), f"--kubeconfig={self.control_plane.kubeconfig}", *args]
        result = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=120, check=False
        )
        if check and result.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout + ("" if check else result.stderr)

    def apply(self, document: dict[str, Any]) -> None:
        self.kubectl("apply", "-f", "-", stdin=json.dumps(document))

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(
            self.kubectl("get", kind, name, "-n", namespace, "-o", "json")
        )
        return document


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    binaries = locate_binaries(repo_root=REPO)
    image = locate_node_images(REPO).project
    control_plane = ControlPlane(
        binaries, tmp_path_factory.mktemp("realnode"), node="real", startup_timeout=300
    )
    control_plane.start()
    try:
        yield RealCluster(control_plane, binaries / "kubectl", image)
    finally:
        control_plane.stop()
    leftovers = host_leftovers(control_plane.work_dir)
    assert leftovers == [], f"the real node left these behind: {leftovers}"


def host_leftovers(work_dir: Path) -> list[str]:
    """What a stopped real node may not leave on the host."""
    found = []
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    found += [line.split(":")[1].strip() for line in links.stdout.splitlines()
              if line.split(":")[1].strip().startswith("kdbr")]  # fmt: skip
    found += [str(p) for p in Path("/sys/fs/cgroup").glob("*/kubedrift-*")]
    mounts = Path("/proc/self/mountinfo").read_text()
    found += [line.split()[4] for line in mounts.splitlines() if str(work_dir) in line]
    found += [str(p) for p in Path("/var/log/containers").glob("*")
              if p.is_symlink() and str(work_dir) in str(p.readlink())]  # fmt: skip
    for table in ("filter", "nat", "mangle"):
        rules = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True,
                               check=True).stdout  # fmt: skip
        found += [f"{table}: {line}" for line in rules.splitlines() if "KUBE-" in line]
    return found


@pytest.fixture
def restricted_namespace(real: RealCluster) -> Iterator[str]:
    name = f"restricted-{uuid.uuid4().hex[:6]}"
    real.apply({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "labels": {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest"}},
    })  # fmt: skip
    deadline = time.monotonic() + 60
    while "default" not in real.kubectl("get", "serviceaccounts", "-n", name, "-o", "name"):
        assert time.monotonic() < deadline, f"namespace {name}: no default ServiceAccount"
        time.sleep(0.2)
    yield name
    real.kubectl("delete", "namespace", name, "--wait=false", check=False)


def pod(name: str, image: str, command: list[str], labels: dict[str, str]) -> dict[str, Any]:
    """A Pod that passes the restricted profile; one running SERVER is Ready once it listens."""
    probe = {"tcpSocket": {"port": 8080}, "periodSeconds": 1} if command[-1] == SERVER else None
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "securityContext": {"runAsUser": 65532, "runAsGroup": 65532},
            "containers": [{
                "name": "main", "image": image, "imagePullPolicy": "Never",
                "command": command, "securityContext": RESTRICTED,
                "ports": [{"containerPort": 8080}],
                "resources": {"limits": {"cpu": "250m", "memory": "128Mi"}},
                **({"readinessProbe": probe} if probe else {}),
            }],
        },
    }  # fmt: skip


def wait_ready(real: RealCluster, name: str, namespace: str) -> dict[str, Any]:
    deadline = time.monotonic() + POD_DEADLINE
    while True:
        document = real.get("pod", name, namespace)
        conditions = document.get("status", {}).get("conditions") or []
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            return document
        if time.monotonic() > deadline:
            events = real.kubectl("get", "events", "-n", namespace, check=False)
            pytest.fail(f"pod {name} not Ready:\n{json.dumps(document.get('status'))}\n{events}")
        time.sleep(0.5)


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
    web = wait_ready(real, "web", ns)
    wait_ready(real, "client", ns)
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
    wait_ready(real, "limited", ns)
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
    wait_ready(real, "served", ns)
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
