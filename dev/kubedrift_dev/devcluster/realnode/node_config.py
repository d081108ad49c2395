"""The kubelet's and kube-proxy's configuration files and command lines, as pure functions.

Kubelet settings this machine needs (``/work/shared/REAL-NODE.md``; v1.37.2):

- ``failCgroupV1: false``: cgroups are v1 here (hybrid), which the kubelet refuses by default;
- ``cgroupDriver: cgroupfs`` under a cgroup root of the node's own (``/kubedrift-N``), so that
  the kubelet's ``kubepods`` tree is apart from anything else on the machine;
- ``oomScoreAdj: 0`` and ``maxOpenFiles`` at the hard limit: without ``CAP_SYS_RESOURCE`` a
  negative OOM score or a higher file limit cannot be set;
- ``resolvConf: ""``: Pods get the cluster DNS and its search path, not the host's resolver.

kube-proxy runs in iptables mode without touching conntrack sysctls or ``route_localnet``, and
opens NodePorts on the bridge address only.
"""

from __future__ import annotations

import json
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubedrift_dev.devcluster.realnode.addresses import NodeNetwork

CLUSTER_DOMAIN = "cluster.local"


@dataclass(frozen=True)
class NodeLayout:
    """Files and ports of one real node's kubelet and kube-proxy."""

    binaries: Path
    directory: Path
    kubeconfig: Path
    ca_cert: Path
    serving_cert: Path
    serving_key: Path
    runtime_socket: Path
    node_name: str
    kubelet_port: int
    kubelet_healthz_port: int
    proxy_healthz_port: int
    proxy_metrics_port: int
    dns_health_port: int
    dns_ready_port: int


def cgroup_root(network: NodeNetwork) -> str:
    return f"/kubedrift-{network.index}"


def kubelet_config(layout: NodeLayout, network: NodeNetwork) -> dict[str, Any]:
    _, hard_files = resource.getrlimit(resource.RLIMIT_NOFILE)
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": cgroup_root(network),
        "containerRuntimeEndpoint": f"unix://{layout.runtime_socket}",
        "address": network.gateway,
        "port": layout.kubelet_port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": layout.kubelet_healthz_port,
        "tlsCertFile": str(layout.serving_cert),
        "tlsPrivateKeyFile": str(layout.serving_key),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(layout.ca_cert)},
        },
        "authorization": {"mode": "AlwaysAllow"},
        "clusterDomain": CLUSTER_DOMAIN,
        "clusterDNS": [network.dns_service_ip],
        "resolvConf": "",
        "failSwapOn": False,
        "oomScoreAdj": 0,
        "maxOpenFiles": hard_files if hard_files != resource.RLIM_INFINITY else 1_000_000,
        "podLogsDir": str(layout.directory / "pod-logs"),
        "enforceNodeAllocatable": ["pods"],
        # The disk is shared with other work: evict only when it is nearly full.
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False,
    }


def kubelet_command(layout: NodeLayout, network: NodeNetwork) -> list[str]:
    return [
        str(layout.binaries / "kubelet"),
        f"--config={layout.directory / 'kubelet.json'}",
        f"--kubeconfig={layout.kubeconfig}",
        f"--root-dir={layout.directory / 'kubelet'}",
        f"--hostname-override={layout.node_name}",
        f"--node-ip={network.gateway}",
        "--v=1",
    ]


def kube_proxy_config(layout: NodeLayout, network: NodeNetwork) -> dict[str, Any]:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(layout.kubeconfig)},
        "hostnameOverride": layout.node_name,
        "bindAddress": network.gateway,
        "healthzBindAddress": f"127.0.0.1:{layout.proxy_healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{layout.proxy_metrics_port}",
        "clusterCIDR": network.pod_cidr,
        "nodePortAddresses": [f"{network.gateway}/32"],
        "oomScoreAdj": 0,
        "conntrack": {"maxPerCore": 0, "min": 0},
        "iptables": {"localhostNodePorts": False, "masqueradeAll": False},
    }


def kube_proxy_command(layout: NodeLayout) -> list[str]:
    return [
        str(layout.binaries / "kube-proxy"),
        f"--config={layout.directory / 'kube-proxy.json'}",
        "--v=1",
    ]


def write_node_config(layout: NodeLayout, network: NodeNetwork) -> None:
    layout.directory.mkdir(parents=True, exist_ok=True)
    documents = {
        "kubelet.json": kubelet_config(layout, network),
        "kube-proxy.json": kube_proxy_config(layout, network),
    }
    for name, document in documents.items():
        (layout.directory / name).write_text(json.dumps(document, indent=2) + "\n")
