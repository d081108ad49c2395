"""Cluster DNS for the real node: CoreDNS as a host process on the bridge address, and the
``kube-dns`` Service whose ClusterIP the kubelet hands to Pods as their nameserver.

The Service has no selector; an EndpointSlice of ours points it at CoreDNS on the bridge
address, so Pods' DNS queries go through kube-proxy's rules to the host like any Service's.
CoreDNS answers ``cluster.local`` (and reverse lookups of Pod and Service addresses) from the
API; it forwards nothing, so names outside the cluster get no answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubedrift_dev.devcluster.realnode.addresses import NodeNetwork
from kubedrift_dev.devcluster.realnode.node_config import CLUSTER_DOMAIN

MANAGED_BY = "kubedrift-dev-cluster"


def corefile(network: NodeNetwork, kubeconfig: Path, health_port: int, ready_port: int) -> str:
    return "\n".join([
        ".:53 {",
        f"    bind {network.gateway}",
        "    errors",
        f"    health 127.0.0.1:{health_port}",
        f"    ready 127.0.0.1:{ready_port}",
        f"    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{",
        f"        kubeconfig {kubeconfig}",
        "        pods insecure",
        "        fallthrough in-addr.arpa ip6.arpa",
        "    }",
        "    cache 5",
        "}",
        "",
    ])  # fmt: skip


def coredns_command(binaries: Path, corefile_path: Path) -> list[str]:
    return [str(binaries / "coredns"), "-conf", str(corefile_path)]


_PORTS = [("dns", "UDP"), ("dns-tcp", "TCP")]


def dns_service(network: NodeNetwork) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kube-dns",
            "namespace": "kube-system",
            "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"},
        },
        "spec": {
            "clusterIP": network.dns_service_ip,
            "ports": [{"name": n, "protocol": p, "port": 53, "targetPort": 53} for n, p in _PORTS],
        },
    }


def dns_endpoint_slice(network: NodeNetwork) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "kube-dns-host",
            "namespace": "kube-system",
            "labels": {
                "kubernetes.io/service-name": "kube-dns",
                "endpointslice.kubernetes.io/managed-by": MANAGED_BY,
            },
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [network.gateway], "conditions": {"ready": True}}],
        "ports": [{"name": n, "protocol": p, "port": 53} for n, p in _PORTS],
    }
