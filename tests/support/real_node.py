"""A control plane with a real node (kubelet on containerd, kube-proxy, CoreDNS), as the tests in
``tests/realnode`` drive it: kubectl bound to it, the project image's name, and Pods written to
pass the restricted Pod Security profile.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kubedrift.stats.baseline import build_baseline
from kubedrift_dev.devcluster import ControlPlane

#: the kubelet, runc and the images are real: Pods start within seconds, this is the limit
POD_DEADLINE = 180.0
RESTRICTED = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
#: the non-root user the project image declares
IMAGE_USER = 65532


@dataclass
class RealCluster:
    control_plane: ControlPlane
    kubectl_path: Path
    image: str
    #: the demo's image (dev/Dockerfile: the project image plus kubedrift_dev)
    demo_image: str = ""

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        argv = [str(self.kubectl_path), f"--kubeconfig={self.control_plane.kubeconfig}", *args]
        result = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=120, check=False
        )
        if check and result.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout + ("" if check else result.stderr)

    def apply(self, document: dict[str, Any], namespace: str | None = None) -> None:
        where = ["-n", namespace] if namespace else []
        self.kubectl("apply", *where, "-f", "-", stdin=json.dumps(document))

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(
            self.kubectl("get", kind, name, "-n", namespace, "-o", "json")
        )
        return document

    def exec_python(self, namespace: str, pod: str, script: str, *args: str) -> str:
        """Run ``script`` with the image's Python in ``pod`` (its first container)."""
        return self.kubectl("exec", "-n", namespace, pod, "--", "python", "-c", script, *args)

    @contextmanager
    def restricted_namespace(
        self, prefix: str = "restricted", exact: str | None = None
    ) -> Iterator[str]:
        """A fresh namespace enforcing Pod Security ``restricted`` (named ``exact``, else
        ``prefix`` and a random suffix), deleted afterwards."""
        name = exact or f"{prefix}-{uuid.uuid4().hex[:6]}"
        self.apply({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest"}},
        })  # fmt: skip
        deadline = time.monotonic() + 60
        while "default" not in self.kubectl("get", "serviceaccounts", "-n", name, "-o", "name"):
            assert time.monotonic() < deadline, f"namespace {name}: no default ServiceAccount"
            time.sleep(0.2)
        try:
            yield name
        finally:
            self.kubectl("delete", "namespace", name, "--wait=false", check=False)

    def wait_ready(self, name: str, namespace: str) -> dict[str, Any]:
        """The Pod ``name`` once its Ready condition is True."""
        deadline = time.monotonic() + POD_DEADLINE
        while True:
            document = self.get("pod", name, namespace)
            conditions = document.get("status", {}).get("conditions") or []
            if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
                return document
            if time.monotonic() > deadline:
                events = self.kubectl("get", "events", "-n", namespace, check=False)
                pytest.fail(
                    f"pod {name} not Ready:\n{json.dumps(document.get('status'))}\n{events}"
                )
            time.sleep(0.5)

    def wait_ready_pod(self, namespace: str, selector: str) -> dict[str, Any]:
        """The one Pod matching ``selector`` once all its containers are ready."""
        deadline = time.monotonic() + POD_DEADLINE
        while True:
            found = json.loads(
                self.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json")
            )["items"]
            live = [p for p in found if not p["metadata"].get("deletionTimestamp")]
            if len(live) == 1:
                statuses = live[0].get("status", {}).get("containerStatuses") or []
                if statuses and all(s.get("ready") for s in statuses):
                    document: dict[str, Any] = live[0]
                    return document
            if time.monotonic() > deadline:
                events = self.kubectl("get", "events", "-n", namespace, check=False)
                states = [p.get("status") for p in live]
                pytest.fail(f"no single ready Pod for {selector}:\n{json.dumps(states)}\n{events}")
            time.sleep(0.5)


def script_pod_template(image: str, command: list[str], labels: dict[str, str]) -> dict[str, Any]:
    """A Pod template of the project image passing ``restricted``, the ConfigMap ``scripts``
    mounted at ``/scripts``: container ``model`` when it runs ``digest_model_server.py`` (Ready
    once the model answers), else ``client``."""
    probe = {"httpGet": {"path": "/v2/health/ready", "port": 8080}, "periodSeconds": 1}
    serves = command[-1].endswith("digest_model_server.py")
    return {
        "metadata": {"labels": labels},
        "spec": {
            "securityContext": {"runAsUser": IMAGE_USER, "runAsGroup": IMAGE_USER},
            "containers": [{
                "name": "model" if serves else "client", "image": image,
                "imagePullPolicy": "Never", "command": command,
                "env": [{"name": "POD_IP",
                         "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                "securityContext": RESTRICTED,
                "volumeMounts": [{"name": "scripts", "mountPath": "/scripts"}],
                **({"ports": [{"name": "http", "containerPort": 8080}],
                    "readinessProbe": probe} if serves else {}),
            }],
            "volumes": [{"name": "scripts", "configMap": {"name": "scripts"}}],
        },
    }  # fmt: skip


def baseline_config_map() -> dict[str, Any]:
    """The baseline of ``x`` (normal) and ``pred`` (``x > 0``) as ConfigMap ``model-baseline``."""
    x = np.random.default_rng(7).normal(size=2000)
    baseline = build_baseline({"x": x, "pred": (x > 0).astype(np.int64)}, prediction="pred")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "model-baseline"},
        "data": {"baseline.json": baseline.to_json()},
    }


def scripts_config_map(name: str, scripts: list[Path]) -> dict[str, Any]:
    """A ConfigMap holding ``scripts`` by file name: Pods mount it to run them with the image's
    Python (the image carries the package, not the tests)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {script.name: script.read_text() for script in scripts},
    }


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
