"""Operator scale: N ModelMonitors evaluated every 30 s against sidecar endpoints on loopback.

``python -m bench.operator_scale [--quick]`` starts a local control plane (or uses
``KUBEDRIFT_BENCH_KUBECONFIG``), installs the CRD, and creates N (1000; 100 with ``--quick``)
Deployments with zero replicas, N ModelMonitors (30 s interval) sharing one baseline, and, once
the operator has injected each Deployment, one Pod per monitor bound to a stand-in Node whose
Lease the benchmark renews. The Pods are marked Ready with their own loopback IP
(127.3.x.y); one aiohttp server on 0.0.0.0 answers every ``GET /v1/window`` with the same
500-sample window and logs which IP was asked when.

Evaluation lag is how much later than the 30 s interval each monitor's next pull came
(consecutive pulls of one IP, minus 30 s), p50 and p99 over the measurement window. RSS and
CPU of ``kubedrift operator`` are reported next to a kopf operator that watches the same
ModelMonitors and does nothing (``bench/operator_idle_peer.py``). Targets (issue 5): lag p99
under 5 s, RSS at most 100 MB above the idle operator's.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
INTERVAL = 30.0
ADMIN_PORT = 18481
NAMESPACE = "bench"
NODE = "bench-node"


def pod_ip(index: int) -> str:
    return f"127.3.{index // 250}.{index % 250 + 1}"


class FakeSidecars:
    """One server for every monitor's sidecar; records (ip, time) of each window pull."""

    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report
        self.pulls: list[tuple[str, float]] = []
        self.started = time.monotonic()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _window(self, request: web.Request) -> web.Response:
        transport = request.transport
        local = transport.get_extra_info("sockname")[0] if transport else "?"
        now = time.monotonic()
        self.pulls.append((local, now))
        return web.json_response(grown(self.report, 1 + int((now - self.started) // 30)))

    def start(self) -> None:
        self.thread.start()
        app = web.Application()
        app.router.add_get("/v1/window", self._window)
        runner = web.AppRunner(app, access_log=None)

        async def serve() -> None:
            await runner.setup()
            await web.TCPSite(runner, "0.0.0.0", ADMIN_PORT).start()

        asyncio.run_coroutine_threadsafe(serve(), self.loop).result()


def window_report() -> tuple[str, dict[str, Any]]:
    from kubedrift.stats.baseline import build_baseline  # noqa: PLC0415
    from kubedrift.stats.engine import Tally  # noqa: PLC0415
    from kubedrift.stats.window import Window  # noqa: PLC0415

    rng = np.random.default_rng(1)
    columns = {f"f{i}": rng.normal(size=2000) for i in range(5)}
    baseline = build_baseline(columns)
    window = Window(baseline, seed=2, start=time.time())
    window.update({name: rng.normal(size=500) for name in columns}, now=time.time())
    tally = Tally.of_window(window, epoch=1.0).to_dict()
    return baseline.to_json(), {"current": window.to_dict(), "completed": None, "cumulative": tally}


def grown(report: dict[str, Any], intervals: int) -> dict[str, Any]:
    """The report with cumulative counts of ``intervals`` windows of the same traffic: each
    monitor's engine then takes a step on 500 new rows every 30 s, as in production."""
    tally = report["cumulative"]
    columns = [
        {**column, "counts": [c * intervals for c in column["counts"]]}
        for column in tally["columns"]
    ]
    return {
        **report,
        "cumulative": {**tally, "samples": tally["samples"] * intervals, "columns": columns},
    }


def process_sample(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds) of a process from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    return rss, cpu


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def renew_lease(api: Any, stop: threading.Event) -> None:
    """Keep the stand-in Node alive for the node lifecycle controller (its Pods stay Ready)."""
    from kubernetes import client  # noqa: PLC0415

    leases = client.CoordinationV1Api(api)
    while not stop.is_set():
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = {"metadata": {"name": NODE}, "spec": {"holderIdentity": NODE,
                "leaseDurationSeconds": 40, "renewTime": now}}  # fmt: skip
        try:
            leases.patch_namespaced_lease(NODE, "kube-node-lease", body)
        except client.ApiException as error:
            if error.status != 404:
                raise
            leases.create_namespaced_lease("kube-node-lease", body)
        stop.wait(10)


def setup_cluster(api: Any, baseline_json: str) -> None:
    from kubernetes import client  # noqa: PLC0415

    from kubedrift.api import crd  # noqa: PLC0415

    extensions = client.ApiextensionsV1Api(api)
    extensions.patch_custom_resource_definition(
        crd.NAME, crd.crd(), field_manager="bench", force=True,
        _content_type="application/apply-patch+yaml",
    )  # fmt: skip
    while not any(
        c.type == "Established" and c.status == "True"
        for c in extensions.read_custom_resource_definition(crd.NAME).status.conditions or []
    ):
        time.sleep(0.2)
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": NAMESPACE}})
    core.create_namespaced_config_map(
        NAMESPACE,
        {"metadata": {"name": "bench-baseline"}, "data": {"baseline.json": baseline_json}},
    )
    core.create_node({"metadata": {"name": NODE}})


def create_monitors(api: Any, count: int) -> None:
    from kubernetes import client  # noqa: PLC0415

    apps, custom = client.AppsV1Api(api), client.CustomObjectsApi(api)
    for index in range(count):
        name = f"m{index}"
        labels = {"app": name}
        apps.create_namespaced_deployment(NAMESPACE, {
            "metadata": {"name": name},
            "spec": {"replicas": 0, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "model", "image": "model:1",
                                         "ports": [{"containerPort": 8080}]}]}}},
        })  # fmt: skip
        custom.create_namespaced_custom_object("kubedrift.io", "v1alpha1", NAMESPACE,
                                               "modelmonitors", {
            "apiVersion": "kubedrift.io/v1alpha1", "kind": "ModelMonitor",
            "metadata": {"name": name},
            "spec": {"target": {"deployment": name, "port": 8080},
                     "capture": {"listenPort": ADMIN_PORT - 1, "adminPort": ADMIN_PORT},
                     "baseline": {"configMapRef": {"name": "bench-baseline"}},
                     "window": {"minSamples": 100},
                     "evaluation": {"interval": f"{INTERVAL:.0f}s"}},
        })  # fmt: skip


def create_pods(api: Any, count: int) -> None:
    """One Ready Pod per injected Deployment, carrying the template's config hash."""
    from kubernetes import client  # noqa: PLC0415

    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    pending = set(range(count))
    while pending:
        for deployment in apps.list_namespaced_deployment(NAMESPACE).items:
            index = int(deployment.metadata.name[1:])
            annotations = deployment.spec.template.metadata.annotations or {}
            digest = annotations.get("kubedrift.io/config-hash")
            if index not in pending or digest is None:
                continue
            name = f"m{index}-pod"
            core.create_namespaced_pod(NAMESPACE, {
                "metadata": {"name": name, "labels": {"app": f"m{index}"},
                             "annotations": {"kubedrift.io/config-hash": digest}},
                "spec": {"nodeName": NODE, "tolerations": [{"operator": "Exists"}],
                         "containers": [{"name": "model", "image": "model:1"}]},
            })  # fmt: skip
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            core.patch_namespaced_pod_status(name, NAMESPACE, {"status": {
                "phase": "Running", "podIP": pod_ip(index), "podIPs": [{"ip": pod_ip(index)}],
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
            }})  # fmt: skip
            pending.discard(index)
        time.sleep(1)


def lags(pulls: list[tuple[str, float]], start: float, end: float) -> list[float]:
    by_ip: dict[str, list[float]] = {}
    for ip, moment in pulls:
        by_ip.setdefault(ip, []).append(moment)
    found = []
    for times in by_ip.values():
        found += [b - a - INTERVAL for a, b in itertools.pairwise(times) if start <= b <= end]
    return found


def main() -> int:
    quick = "--quick" in sys.argv
    count, measure = (100, 75.0) if quick else (1000, 180.0)
    from kubernetes import config  # noqa: PLC0415

    from kubedrift_dev.devcluster import ControlPlane, locate_binaries  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        external = os.environ.get("KUBEDRIFT_BENCH_KUBECONFIG")
        control_plane = None
        if external:
            kubeconfig = Path(external)
        else:
            control_plane = ControlPlane(locate_binaries(repo_root=REPO), Path(tmp) / "cluster")
            control_plane.start()
            kubeconfig = control_plane.kubeconfig
        processes: list[subprocess.Popen[bytes]] = []
        stop = threading.Event()
        try:
            api = config.new_client_from_config(config_file=str(kubeconfig))
            baseline_json, report = window_report()
            setup_cluster(api, baseline_json)
            threading.Thread(target=renew_lease, args=(api, stop), daemon=True).start()
            sidecars = FakeSidecars(report)
            sidecars.start()
            kubedrift = str(Path(sys.executable).parent / "kubedrift")
            log = (Path(tmp) / "operator.log").open("wb")
            processes.append(subprocess.Popen(
                [kubedrift, "operator", "--namespace", NAMESPACE, "--kubeconfig", str(kubeconfig),
                 "--listen", f"127.0.0.1:{free_port()}", "--log-level", "WARNING"],
                stdout=log, stderr=subprocess.STDOUT))  # fmt: skip
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "bench.operator_idle_peer", str(kubeconfig), NAMESPACE],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
            time.sleep(10)  # both operators up and watching, before any monitor exists
            empty = [process_sample(p.pid)[0] for p in processes]
            created = time.monotonic()
            create_monitors(api, count)
            create_pods(api, count)
            print(f"{count} monitors, Deployments and Pods ready in "
                  f"{time.monotonic() - created:.0f} s", flush=True)  # fmt: skip
            while len({ip for ip, _ in sidecars.pulls}) < count:
                time.sleep(1)
            time.sleep(INTERVAL)  # one full round for every monitor before measuring
            start = time.monotonic()
            first = [process_sample(p.pid) for p in processes]
            peak = [rss for rss, _ in first]
            while time.monotonic() - start < measure:
                time.sleep(5)
                for i, process in enumerate(processes):
                    peak[i] = max(peak[i], process_sample(process.pid)[0])
            end = time.monotonic()
            last = [process_sample(p.pid) for p in processes]
            found = lags(sidecars.pulls, start, end)
        finally:
            stop.set()
            for process in processes:
                process.terminate()
                process.wait(timeout=60)
            if control_plane is not None:
                control_plane.stop()
    cpu = [(b[1] - a[1]) / (end - start) for a, b in zip(first, last, strict=True)]
    p50, p99 = np.percentile(found, [50, 99]) if found else (float("nan"), float("nan"))
    print(f"operator scale: {count} ModelMonitors, interval {INTERVAL:.0f} s, "
          f"{len(found)} evaluations measured over {end - start:.0f} s")  # fmt: skip
    print(f"  evaluation lag p50 {p50:.2f} s, p99 {p99:.2f} s (target p99 < 5 s)")
    print(f"  {'':24}{'RSS no monitors MB':>19}{'RSS peak MB':>12}{'CPU cores':>11}")
    print(f"  {'kubedrift operator':24}{empty[0]:>19.0f}{peak[0]:>12.0f}{cpu[0]:>11.2f}")
    print(f"  {'idle kopf operator':24}{empty[1]:>19.0f}{peak[1]:>12.0f}{cpu[1]:>11.2f}")
    print(f"  RSS above idle: {peak[0] - peak[1]:.0f} MB (target <= 100 MB); "
          f"CPU ratio {cpu[0] / max(cpu[1], 1e-6):.1f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
