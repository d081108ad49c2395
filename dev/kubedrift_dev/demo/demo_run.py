"""One run of ``python -m kubedrift_dev demo``: a cluster (the local control plane, or an
existing one), the operator, the demo's objects, the loop, the report, and the clean-up.

:class:`DemoSession` owns every process it starts and stops them in :meth:`close`, whatever
happened before.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from kubedrift_dev.demo import manifests
from kubedrift_dev.demo.cluster_client import DemoCluster
from kubedrift_dev.demo.deploy import deploy, install_crd
from kubedrift_dev.demo.loop import SHIFT_PLAN, STEADY_PLAN, LoopRunner
from kubedrift_dev.demo.operator_chart import ChartError, ChartOperator, find_helm
from kubedrift_dev.demo.operator_process import OperatorProcess
from kubedrift_dev.demo.outcome import Outcome
from kubedrift_dev.demo.report import TablePrinter, plot, summary

METRIC_PREFIXES = (
    "kubedrift_monitor_",
    "kubedrift_operator_retrainings_total",
    "kubedrift_operator_labels_total",
)


class Operator(Protocol):
    """The operator, in-cluster (:class:`ChartOperator`) or local (:class:`OperatorProcess`)."""

    @property
    def url(self) -> str: ...

    @property
    def description(self) -> str: ...

    def metrics(self) -> str: ...

    def stop(self) -> None: ...


class DemoSession:
    def __init__(
        self,
        *,
        work_dir: Path,
        namespace: str,
        image: str,
        external_kubeconfig: Path | None,
        write: Callable[[str], None],
        operator_mode: str = "auto",
        node: str = "standin",
    ) -> None:
        self.work_dir = work_dir
        self.node = node
        #: the operator's image on a real node (the project image the node imported)
        self.operator_image: str | None = None
        self.operator_mode = operator_mode
        self.namespace = namespace
        self.settings = manifests.DemoSettings(image=image)
        self.external = external_kubeconfig
        self.write = write
        self.control_plane: Any = None
        self.operator: Operator | None = None
        self.kubectl = "kubectl"
        self.kubeconfig: Path | None = None

    def _start_cluster(self) -> Path:
        if self.external is not None:
            self.write(f"cluster: the one in {self.external} (KUBEDRIFT_DEMO_KUBECONFIG is set)")
            self.kubectl = shutil.which("kubectl") or self.kubectl
            return self.external
        from kubedrift_dev.devcluster import ControlPlane, locate_binaries  # noqa: PLC0415

        binaries = locate_binaries(repo_root=Path.cwd())
        self.kubectl = str(binaries / "kubectl")
        if self.node == "real":
            from kubedrift_dev.devcluster.realnode.artifacts import (  # noqa: PLC0415
                locate_node_images,
            )

            # Built from the repository (tests/node/images.sh): the operator and its sidecar
            # from the project image, the model server and retraining Job from the demo image.
            images = locate_node_images(Path.cwd())
            self.operator_image = images.project
            self.settings = dataclasses.replace(self.settings, image=images.demo)
            node = f"a real node: kubelet on containerd, images {images.project}, {images.demo}"
        else:
            node = "node stand-in"
        self.write(
            "cluster: starting the local control plane (etcd, kube-apiserver, "
            f"controller-manager, scheduler, {node}) ..."
        )
        started = time.monotonic()
        shutil.rmtree(self.work_dir / "cluster", ignore_errors=True)  # a fresh cluster each run
        self.control_plane = ControlPlane(
            binaries, self.work_dir / "cluster", node=self.node, startup_timeout=300
        )
        self.control_plane.start()
        self.write(
            f"cluster: ready in {time.monotonic() - started:.0f}s; "
            f"export KUBECONFIG={self.control_plane.kubeconfig}"
        )
        return Path(self.control_plane.kubeconfig)

    def _start_operator(self) -> Operator:
        """The operator through the Helm chart when helm and the chart are there (and
        ``operator_mode`` allows it), else (or when the chart fails) as a local process."""
        assert self.kubeconfig is not None
        accounts = (manifests.TRAINER,)
        chart = Path.cwd() / "charts" / "kubedrift"
        if self.node == "real" and self.operator_mode == "local":
            raise ChartError("on a real node the operator runs in-cluster: --operator chart")
        helm = find_helm(Path.cwd()) if self.operator_mode != "local" else None
        if helm is not None and chart.is_dir():
            installed = ChartOperator(
                helm,
                chart=chart,
                kubectl=self.kubectl,
                kubeconfig=self.kubeconfig,
                namespace=self.namespace,
                service_accounts=accounts,
                image=self.operator_image,
            )
            try:
                installed.start()
                return installed
            except ChartError as error:
                installed.stop()
                # a local process cannot serve the real node's Pods (Jobs fetch dataset B)
                if self.operator_mode == "chart" or self.node == "real":
                    raise
                self.write(
                    f"operator: the Helm chart did not come up ({error}); "
                    "running it as a local process instead"
                )
        elif self.operator_mode == "chart" or self.node == "real":
            raise ChartError(f"--operator chart needs helm and {chart}")
        local = OperatorProcess(
            self.kubeconfig,
            self.namespace,
            self.work_dir / "operator.log",
            service_accounts=accounts,
        )
        local.start()
        return local

    def run(self, scenario: str, plot_path: Path) -> bool:
        """Run the scenario; True when every shift was retrained and rolled out (shift), or
        when nothing was raised (steady)."""
        from kubernetes import config  # noqa: PLC0415

        self.kubeconfig = self._start_cluster()
        api_client = config.new_client_from_config(config_file=str(self.kubeconfig))  # type: ignore[no-untyped-call]
        install_crd(api_client)
        cluster = DemoCluster(api_client, self.namespace)
        if not cluster.create_namespace():
            raise RuntimeError(
                f"namespace {self.namespace} already exists: delete it or pass --namespace"
            )
        self.operator = self._start_operator()
        self.write(f"operator: {self.operator.description}; /metrics on {self.operator.url}")
        deploy(cluster, self.settings, self.work_dir, self.write)
        self.write("")
        runner = LoopRunner(
            cluster,
            self.settings,
            emit=TablePrinter(self.write),
            labels_url=manifests.labels_url(self.operator.url, self.namespace),
        )
        outcome = runner.run(SHIFT_PLAN if scenario == "shift" else STEADY_PLAN)
        self.write("")
        for line in summary(outcome, self.settings.accuracy_threshold):
            self.write(line)
        if plot(outcome, plot_path, self.settings.accuracy_threshold):
            self.write(f"plot: {plot_path}")
        else:
            self.write("plot: skipped (pip install 'kubedrift[plot]' for matplotlib)")
        self.write("")
        self._where_to_look()
        return _closed(outcome, scenario)

    def _kubectl(self, *args: str) -> str:
        command = [self.kubectl, "--kubeconfig", str(self.kubeconfig), "-n", self.namespace, *args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        return result.stdout if result.returncode == 0 else result.stderr

    def _where_to_look(self) -> None:
        self.write("where to look (this run's real output):")
        self.write("$ kubectl get mmon")
        self.write(self._kubectl("get", "mmon").rstrip())
        self.write(f"$ kubectl describe mmon {manifests.MONITOR}   (the Events at its end)")
        described = self._kubectl("describe", "mmon", manifests.MONITOR).splitlines()
        self.write("\n".join(_section(described, "Events:")).rstrip())
        self.write("$ kubectl get jobs")
        self.write(self._kubectl("get", "jobs").rstrip())
        if self.operator is not None:
            self.write(f"$ curl -s {self.operator.url}/metrics | grep kubedrift_")
            for line in self.operator.metrics().splitlines():
                if line.startswith(METRIC_PREFIXES):
                    self.write(line)

    def close(self) -> None:
        """Stop the operator and the local control plane (or delete the namespace)."""
        if self.operator is not None:
            self.operator.stop()
            self.operator = None
        if self.control_plane is not None:
            self.write("cluster: stopping the local control plane")
            self.control_plane.stop()
            self.control_plane = None
        elif self.kubeconfig is not None:
            self.write(f"deleting namespace {self.namespace}")
            subprocess.run(
                [
                    self.kubectl,
                    "--kubeconfig",
                    str(self.kubeconfig),
                    "delete",
                    "namespace",
                    self.namespace,
                    "--wait=false",
                ],
                capture_output=True,
                check=False,
            )


def _closed(outcome: Outcome, scenario: str) -> bool:
    if scenario == "steady":
        return not outcome.jobs and not outcome.markers
    shifted = [w for w in outcome.shifts if w != "A"]
    return all(version is not None for _, version in outcome.jobs.values()) and len(
        outcome.jobs
    ) == len(shifted)


def _section(lines: list[str], header: str) -> list[str]:
    """A block of ``kubectl describe`` output: the line ``header`` and the lines indented
    deeper under it."""
    indent = len(header) - len(header.lstrip())
    for start, line in enumerate(lines):
        if line.rstrip().endswith("<none>") and line.startswith(header):
            return [line.rstrip()]
        if line.rstrip() == header:
            found = [line]
            for following in lines[start + 1 :]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                found.append(following)
            return found
    return []
