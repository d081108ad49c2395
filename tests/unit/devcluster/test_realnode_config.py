"""A real node's configuration: addresses, containerd, CNI, kubelet, kube-proxy and cluster DNS,
as the pure builders produce them (the integration test in tests/realnode runs them)."""

from __future__ import annotations

import ipaddress
import subprocess
import tomllib
from pathlib import Path

import pytest

from kubedrift_dev.devcluster import components
from kubedrift_dev.devcluster.certs import Pki, generate_pki
from kubedrift_dev.devcluster.realnode import clusterdns
from kubedrift_dev.devcluster.realnode.addresses import NodeNetwork
from kubedrift_dev.devcluster.realnode.hostsetup import forward_rules, kubelet_chain_cleanup
from kubedrift_dev.devcluster.realnode.node_config import (
    NodeLayout,
    kube_proxy_command,
    kube_proxy_config,
    kubelet_command,
    kubelet_config,
)
from kubedrift_dev.devcluster.realnode.runtime_config import (
    RuntimeLayout,
    cni_conflist,
    containerd_config,
)

NETWORK = NodeNetwork(7)


def node_layout() -> NodeLayout:
    return NodeLayout(
        binaries=Path("/bin-dir"), directory=Path("/work/node"), kubeconfig=Path("/work/kc"),
        ca_cert=Path("/pki/ca.crt"), serving_cert=Path("/pki/node.crt"),
        serving_key=Path("/pki/node.key"), runtime_socket=Path("/work/node/c.sock"),
        node_name="n1", kubelet_port=10250, kubelet_healthz_port=10248,
        proxy_healthz_port=10256, proxy_metrics_port=10249, dns_health_port=8080,
        dns_ready_port=8181,
    )  # fmt: skip


def test_addresses_stay_on_the_clusters_own_bridge_and_private_ranges() -> None:
    pods = ipaddress.ip_network(NETWORK.pod_cidr)
    services = ipaddress.ip_network(NETWORK.service_cidr)
    assert (NETWORK.bridge, str(pods), str(services)) == ("kdbr7", "10.244.7.0/24", "10.245.7.0/24")
    assert pods.is_private and services.is_private and not pods.overlaps(services)
    assert ipaddress.ip_address(NETWORK.gateway) in pods
    for ip in (NETWORK.kubernetes_service_ip, NETWORK.dns_service_ip):
        assert ipaddress.ip_address(ip) in services


def test_containerd_runs_runc_with_cgroupfs_a_local_pause_image_and_no_negative_oom_score() -> None:
    layout = RuntimeLayout(Path("/work/node/containerd"))
    config = tomllib.loads(containerd_config(layout, "localhost/pause:1"))
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert config["version"] == 2
    assert config["grpc"]["address"] == "/work/node/containerd/containerd.sock"
    assert config["root"] == "/work/node/containerd/root"
    assert cri["sandbox_image"] == "localhost/pause:1"
    assert cri["restrict_oom_score_adj"] is True
    assert cri["netns_mounts_under_state_dir"] is True
    assert cri["stream_server_address"] == "127.0.0.1"
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is False
    assert cri["cni"] == {"bin_dir": "/usr/lib/cni", "conf_dir": "/work/node/containerd/net.d",
                          "max_conf_num": 1}  # fmt: skip


def test_pods_get_bridge_addresses_and_routes_to_services_only() -> None:
    conflist = cni_conflist(NETWORK, Path("/work/ipam"))
    bridge, portmap = conflist["plugins"]
    assert bridge["bridge"] == "kdbr7"
    assert (bridge["isGateway"], bridge["isDefaultGateway"], bridge["ipMasq"]) == (
        True, False, False)  # fmt: skip
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.244.7.0/24", "gateway": "10.244.7.1"}]]
    assert bridge["ipam"]["routes"] == [{"dst": "10.245.7.0/24"}]
    assert bridge["ipam"]["dataDir"] == "/work/ipam"
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}}


def test_forward_rules_drop_traffic_between_the_bridge_and_any_other_interface() -> None:
    assert forward_rules(NETWORK) == [
        ["FORWARD", "-i", "kdbr7", "!", "-o", "kdbr7", "-j", "DROP"],
        ["FORWARD", "-o", "kdbr7", "!", "-i", "kdbr7", "-j", "DROP"],
    ]


def test_kubelet_accepts_cgroup_v1_uses_cgroupfs_and_serves_on_the_bridge() -> None:
    config = kubelet_config(node_layout(), NETWORK)
    assert config["failCgroupV1"] is False
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["cgroupRoot"] == "/kubedrift-7"
    assert config["containerRuntimeEndpoint"] == "unix:///work/node/c.sock"
    assert (config["address"], config["port"], config["readOnlyPort"]) == ("10.244.7.1", 10250, 0)
    assert config["healthzBindAddress"] == "127.0.0.1"
    assert config["clusterDNS"] == ["10.245.7.10"]
    assert config["clusterDomain"] == "cluster.local"
    assert config["authentication"]["anonymous"] == {"enabled": False}
    assert config["authentication"]["x509"] == {"clientCAFile": "/pki/ca.crt"}
    assert config["oomScoreAdj"] == 0
    assert config["podLogsDir"] == "/work/node/pod-logs"
    argv = kubelet_command(node_layout(), NETWORK)
    assert argv[0] == "/bin-dir/kubelet"
    assert "--node-ip=10.244.7.1" in argv
    assert "--hostname-override=n1" in argv
    assert "--root-dir=/work/node/kubelet" in argv


def test_kube_proxy_uses_iptables_and_leaves_host_sysctls_and_loopback_alone() -> None:
    config = kube_proxy_config(node_layout(), NETWORK)
    assert config["mode"] == "iptables"
    assert config["clusterCIDR"] == "10.244.7.0/24"
    assert config["nodePortAddresses"] == ["10.244.7.1/32"]
    assert config["iptables"]["localhostNodePorts"] is False
    assert config["conntrack"] == {"maxPerCore": 0, "min": 0}
    assert config["healthzBindAddress"] == "127.0.0.1:10256"
    assert kube_proxy_command(node_layout())[:2] == [
        "/bin-dir/kube-proxy", "--config=/work/node/kube-proxy.json"]  # fmt: skip


def test_cluster_dns_serves_cluster_local_on_the_bridge_behind_the_kube_dns_service() -> None:
    text = clusterdns.corefile(NETWORK, Path("/work/kc"), 8080, 8181)
    assert "bind 10.244.7.1" in text
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa {" in text
    assert "kubeconfig /work/kc" in text
    assert "forward" not in text
    service = clusterdns.dns_service(NETWORK)
    assert service["spec"]["clusterIP"] == "10.245.7.10"
    assert "selector" not in service["spec"]
    endpoints = clusterdns.dns_endpoint_slice(NETWORK)
    assert endpoints["metadata"]["labels"]["kubernetes.io/service-name"] == "kube-dns"
    assert endpoints["endpoints"][0]["addresses"] == ["10.244.7.1"]
    assert {(p["name"], p["protocol"], p["port"]) for p in endpoints["ports"]} == {
        ("dns", "UDP", 53), ("dns-tcp", "TCP", 53)}  # fmt: skip


@pytest.mark.parametrize(("host", "reconciler_off"), [("127.0.0.1", True), ("10.244.7.1", False)])
def test_apiserver_on_a_bridge_address_keeps_the_kubernetes_service_endpoints(
    host: str, reconciler_off: bool
) -> None:
    pki = Pki(*(Path(f"/pki/{n}") for n in range(10)))
    ports = components.Ports(2379, 2380, 6443, 10257, 10259, 10250)
    layout = components.Layout(Path("/b"), Path("/w"), pki, ports, "10.245.7.0/24", host)
    argv = components.apiserver_command(layout)
    assert f"--bind-address={host}" in argv
    assert f"--advertise-address={host}" in argv
    assert ("--endpoint-reconciler-type=none" in argv) is reconciler_off
    assert layout.server == f"https://{host}:6443"


def test_certificates_name_the_bridge_and_service_addresses_pods_connect_to(
    tmp_path: Path,
) -> None:
    pki = generate_pki(tmp_path, extra_ips=["10.244.7.1", "10.245.7.1"])
    for cert in (pki.server_cert, pki.node_cert):
        text = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-text"],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert "IP Address:127.0.0.1, IP Address:10.244.7.1, IP Address:10.245.7.1" in text


def test_teardown_removes_the_kubelets_chains_and_the_jumps_to_them_only() -> None:
    rules = "\n".join([
        "-P INPUT ACCEPT",
        "-N KUBE-FIREWALL",
        "-N KUBE-KUBELET-CANARY",
        "-N OTHER",
        "-A INPUT -j KUBE-FIREWALL",
        "-A INPUT -j OTHER",
        "-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -j DROP",
    ])  # fmt: skip
    assert kubelet_chain_cleanup(rules) == [
        ["-D", "INPUT", "-j", "KUBE-FIREWALL"],
        ["-F", "KUBE-FIREWALL"], ["-X", "KUBE-FIREWALL"],
        ["-F", "KUBE-KUBELET-CANARY"], ["-X", "KUBE-KUBELET-CANARY"],
    ]  # fmt: skip
