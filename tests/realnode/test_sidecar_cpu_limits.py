"""The sidecar under a CPU limit, at its rated sample load, on the real node.

The Pod is what the operator injects, built by its own functions (``build_sidecar_container``,
``render_config_map_data``) with a CPU limit added: 250m, then one core. A client Pod sends OIP
requests through it at 200 per second for 30 s, every request sampled (``sampleRate: 1``), which is
the default cap of 200 samples per second (``maxSamplesPerSecond``): the rated sample load. Every
request and response must pass byte for byte (``digest_model_server.py`` returns the digests of
both bodies), the monitor must account for every sample (parsed, or dropped and counted), and the
probes must not restart the sidecar. The figures (rate reached, latency, the sidecar's CPU and its
throttling by the CFS quota) are printed (``pytest -s``) and recorded in docs/sidecar.md; no
assertion depends on them.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubedrift.api.spec import parse_spec
from kubedrift.controller.injection import SidecarOptions, build_sidecar_container
from kubedrift.controller.names import CONFIG_VOLUME, SIDECAR_TOKEN_KEY, MonitorRef
from kubedrift.controller.sidecar_config import render_config_map_data
from support.cluster_waiting import wait_for
from support.model_objects import model_monitor
from support.real_node import (
    RealCluster,
    baseline_config_map,
    script_pod_template,
    scripts_config_map,
)

pytestmark = [pytest.mark.integration, pytest.mark.realnode]

HERE = Path(__file__).resolve().parent
SCRIPTS = [HERE / "digest_model_server.py", HERE / "paced_client.py"]
RATE = 200  # requests per second, each sampled: maxSamplesPerSecond's default
SECONDS = 30
CONNECTIONS = 16  # keep-alive connections: 200 per second at up to 80 ms per answer
FETCH = (
    "import sys, urllib.request\n"
    "print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())\n"
)


@pytest.fixture(scope="module")
def namespace(real: RealCluster) -> Iterator[str]:
    with real.restricted_namespace("rated") as name:
        real.apply(scripts_config_map("scripts", SCRIPTS), name)
        client = script_pod_template(real.image, ["sleep", "infinity"], {"app": "client"})
        real.apply({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "client", **client["metadata"]},
                    "spec": client["spec"]}, name)  # fmt: skip
        real.wait_ready("client", name)
        yield name


def rated_pod(real: RealCluster, namespace: str, name: str, cpu: str) -> dict[str, Any]:
    """The model Pod with the sidecar as the operator injects it, its CPU limited to ``cpu``;
    its ConfigMap and token Secret created."""
    manifest = model_monitor(name)
    spec = parse_spec(manifest["spec"])
    monitor = MonitorRef(namespace, name, "not-owned")
    baseline = baseline_config_map()["data"]["baseline.json"]
    real.apply({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": monitor.sidecar_config_map},
                "data": render_config_map_data(spec, baseline)}, namespace)  # fmt: skip
    real.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": monitor.token_secret},
                "stringData": {SIDECAR_TOKEN_KEY: secrets.token_hex(16)}}, namespace)  # fmt: skip
    sidecar = build_sidecar_container(
        spec, monitor, SidecarOptions(image=real.image, pull_policy="Never")
    )
    sidecar["resources"]["requests"]["cpu"] = cpu
    sidecar["resources"]["limits"]["cpu"] = cpu
    template = script_pod_template(
        real.image, ["python", "-u", "/scripts/digest_model_server.py"], {"app": name}
    )
    template["spec"]["containers"].append(sidecar)
    template["spec"]["volumes"].append(
        {"name": CONFIG_VOLUME, "configMap": {"name": monitor.sidecar_config_map}}
    )
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, **template["metadata"]},
            "spec": template["spec"]}  # fmt: skip


def metrics(text: str) -> dict[str, float]:
    """Prometheus text exposition as ``{'name{labels}': value}``."""
    found = re.findall(r"^([a-z_]+(?:\{[^}]*\})?) (\S+)$", text, re.MULTILINE)
    return {name: float(value) for name, value in found}


def cgroup(real: RealCluster, namespace: str, pod: str, path: str) -> str:
    argv = ["exec", "-n", namespace, pod, "-c", "kubedrift-sidecar", "--", "cat", path]
    return real.kubectl(*argv)


def cpu_seconds(real: RealCluster, namespace: str, pod: str) -> float:
    return int(cgroup(real, namespace, pod, "/sys/fs/cgroup/cpuacct/cpuacct.usage")) / 1e9


def throttling(real: RealCluster, namespace: str, pod: str) -> dict[str, int]:
    text = cgroup(real, namespace, pod, "/sys/fs/cgroup/cpu/cpu.stat")
    return {key: int(value) for key, value in (line.split() for line in text.splitlines())}


@pytest.mark.parametrize(("cpu", "quota"), [("250m", "25000"), ("1", "100000")])
def test_sidecar_at_its_rated_sample_load_under_a_cpu_limit(
    real: RealCluster, namespace: str, cpu: str, quota: str
) -> None:
    name = f"rated-{cpu}"
    real.apply(rated_pod(real, namespace, name, cpu), namespace)
    ip = real.wait_ready(name, namespace)["status"]["podIP"]
    # runc applied the limit: a CFS quota per 100 ms period
    assert cgroup(real, namespace, name, "/sys/fs/cgroup/cpu/cpu.cfs_quota_us").strip() == quota

    def sidecar_metrics() -> dict[str, float]:
        argv = ["exec", "-n", namespace, "client", "--", "python", "-c", FETCH]
        return metrics(real.kubectl(*argv, f"http://{ip}:8481/metrics"))

    cpu_before = cpu_seconds(real, namespace, name)
    throttled_before = throttling(real, namespace, name)
    load = ["/scripts/paced_client.py", f"http://{ip}:8480", str(RATE), str(SECONDS),
            str(CONNECTIONS)]  # fmt: skip
    result = json.loads(real.kubectl("exec", "-n", namespace, "client", "--", "python", *load))
    cpu_used = cpu_seconds(real, namespace, name) - cpu_before
    throttled = throttling(real, namespace, name)
    sent = RATE * SECONDS

    # every request and response byte for byte
    assert result["failures"] == []
    assert result["verified"] == sent

    # the proxy answered every one; each was sampled or refused by the per-second cap
    counted = sidecar_metrics()
    assert counted['kubedrift_requests_total{code="2xx"}'] == sent
    samples = counted["kubedrift_samples_total"]
    assert samples + counted["kubedrift_samples_rate_limited_total"] == sent

    # the monitor keeps up or counts what it drops: every sample ends parsed or dropped
    def accounted() -> dict[str, float] | None:
        now = sidecar_metrics()
        parsed = sum(v for k, v in now.items() if k.startswith("kubedrift_exchanges_parsed_total"))
        dropped = now["kubedrift_samples_dropped_total"]
        failed = now["kubedrift_sample_copy_failures_total"] + sum(
            v for k, v in now.items() if k.startswith("kubedrift_unparsable_total")
        )
        return now if parsed + dropped + failed == samples else None

    final = wait_for("every sample parsed or counted as dropped", accounted)

    # the probes did not restart either container
    statuses = real.get("pod", name, namespace)["status"]["containerStatuses"]
    assert {s["name"]: s["restartCount"] for s in statuses} == {
        "model": 0, "kubedrift-sidecar": 0
    }  # fmt: skip

    periods = throttled["nr_periods"] - throttled_before["nr_periods"]
    print(json.dumps({
        "cpu_limit": cpu, "sent": sent, "rate": result["rate"], "latency_ms": result["latency_ms"],
        "sidecar_cpu_seconds": round(cpu_used, 2),
        "sidecar_cpu_per_1000_requests": round(1000 * cpu_used / sent, 3),
        "cfs_periods": periods,
        "throttled_periods": throttled["nr_throttled"] - throttled_before["nr_throttled"],
        "throttled_seconds": round(
            (throttled["throttled_time"] - throttled_before["throttled_time"]) / 1e9, 2),
        "samples": samples, "rate_limited": counted["kubedrift_samples_rate_limited_total"],
        "dropped": final["kubedrift_samples_dropped_total"],
    }))  # fmt: skip
    real.kubectl("delete", "pod", name, "-n", namespace, "--wait=false")
