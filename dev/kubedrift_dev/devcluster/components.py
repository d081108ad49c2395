"""Command lines of the control-plane components, as pure functions of a :class:`Layout`.

Flags were checked against the ``--help`` of the pinned binaries (Kubernetes v1.37.2, etcd
v3.7.0). The API server uses envtest's minimal set plus what a cluster with a controller manager
needs: RBAC, ServiceAccount issuer and keys, and the ServiceAccount admission plugin kept on.
Every listener binds 127.0.0.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kubedrift_dev.devcluster.certs import Pki


@dataclass(frozen=True)
class Ports:
    """Loopback ports, one per listener."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    node: int


@dataclass(frozen=True)
class Layout:
    """Where a cluster's files live and which ports it listens on."""

    binaries: Path
    work_dir: Path
    pki: Pki
    ports: Ports
    service_cidr: str
    #: where the API server listens: loopback, or a real node's bridge address (Pods reach it)
    host: str = "127.0.0.1"

    @property
    def kubeconfig(self) -> Path:
        return self.work_dir / "kubeconfig"

    @property
    def server(self) -> str:
        return f"https://{self.host}:{self.ports.apiserver}"

    @property
    def logs(self) -> Path:
        return self.work_dir / "logs"


def etcd_command(layout: Layout) -> list[str]:
    client = f"http://127.0.0.1:{layout.ports.etcd_client}"
    peer = f"http://127.0.0.1:{layout.ports.etcd_peer}"
    return [
        str(layout.binaries / "etcd"),
        "--name=default",
        f"--data-dir={layout.work_dir / 'etcd'}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=default={peer}",
        "--unsafe-no-fsync=true",
        "--watch-progress-notify-interval=5s",
        "--log-level=warn",
    ]


def apiserver_command(layout: Layout) -> list[str]:
    pki = layout.pki
    return [
        str(layout.binaries / "kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{layout.ports.etcd_client}",
        f"--cert-dir={layout.work_dir / 'apiserver-certs'}",
        f"--tls-cert-file={pki.server_cert}",
        f"--tls-private-key-file={pki.server_key}",
        f"--client-ca-file={pki.ca_cert}",
        f"--secure-port={layout.ports.apiserver}",
        f"--bind-address={layout.host}",
        f"--advertise-address={layout.host}",
        # The lease reconciler refuses a loopback advertise address; in-cluster clients are
        # pointed at 127.0.0.1 by KUBERNETES_SERVICE_HOST instead of the kubernetes Service.
        # On a real node's bridge address it keeps the kubernetes Service's endpoints.
        *(["--endpoint-reconciler-type=none"] if layout.host.startswith("127.") else []),
        "--authorization-mode=RBAC",
        f"--service-cluster-ip-range={layout.service_cidr}",
        "--allow-privileged=true",
        f"--service-account-issuer={layout.server}",
        f"--service-account-key-file={pki.service_account_pub}",
        f"--service-account-signing-key-file={pki.service_account_key}",
        # `kubectl logs` goes through the API server to the node stand-in's log endpoint.
        f"--kubelet-client-certificate={pki.admin_cert}",
        f"--kubelet-client-key={pki.admin_key}",
        f"--kubelet-certificate-authority={pki.ca_cert}",
        "--kubelet-preferred-address-types=InternalIP",
    ]


def controller_manager_command(layout: Layout) -> list[str]:
    pki = layout.pki
    return [
        str(layout.binaries / "kube-controller-manager"),
        *_client_flags(layout),
        f"--secure-port={layout.ports.controller_manager}",
        f"--service-account-private-key-file={pki.service_account_key}",
        f"--root-ca-file={pki.ca_cert}",
        "--use-service-account-credentials=true",
        f"--cluster-signing-cert-file={pki.ca_cert}",
        f"--cluster-signing-key-file={pki.ca_key}",
        # The node lifecycle controller lifts the new node's not-ready taint on its next sync;
        # syncing every second instead of 5 s makes the cluster schedulable sooner.
        "--node-monitor-period=1s",
    ]


def scheduler_command(layout: Layout) -> list[str]:
    return [
        str(layout.binaries / "kube-scheduler"),
        *_client_flags(layout),
        f"--secure-port={layout.ports.scheduler}",
    ]


def _client_flags(layout: Layout) -> list[str]:
    # No --authentication/authorization-kubeconfig: the components' own HTTPS endpoints only
    # serve the always-allowed /healthz here, and delegated auth would add watches and noise.
    return [
        f"--kubeconfig={layout.kubeconfig}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
    ]
