"""Certificates, component command lines, the kubeconfig and the Node object."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from kubedrift_dev.devcluster import components
from kubedrift_dev.devcluster.certs import Pki, generate_pki
from kubedrift_dev.devcluster.kubeconfig import admin_kubeconfig
from kubedrift_dev.devcluster.node.heartbeat import lease_object, micro_time, node_object


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return generate_pki(tmp_path_factory.mktemp("pki"))


def openssl_text(cert: Path) -> str:
    return subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip


def test_certificates_chain_to_the_generated_ca(pki: Pki) -> None:
    for cert in (pki.server_cert, pki.admin_cert):
        result = subprocess.run(["openssl", "verify", "-CAfile", str(pki.ca_cert), str(cert)],
                                capture_output=True, text=True, check=False)  # fmt: skip
        assert result.stdout.strip() == f"{cert}: OK"


def test_serving_certificate_names_the_loopback_address_and_localhost(pki: Pki) -> None:
    text = openssl_text(pki.server_cert)
    assert "IP Address:127.0.0.1" in text
    assert "DNS:localhost" in text
    assert "TLS Web Server Authentication" in text


def test_admin_certificate_is_in_system_masters(pki: Pki) -> None:
    text = openssl_text(pki.admin_cert)
    assert "Subject: O = system:masters, CN = kubedrift-admin" in text
    assert "TLS Web Client Authentication" in text


def test_private_keys_are_readable_by_the_owner_only(pki: Pki) -> None:
    for key in (pki.ca_key, pki.server_key, pki.admin_key, pki.service_account_key):
        assert key.stat().st_mode & 0o777 == 0o600


def layout(pki: Pki) -> components.Layout:
    ports = components.Ports(2379, 2380, 6443, 10257, 10259, 10250)
    return components.Layout(Path("/bin-dir"), Path("/work"), pki, ports, "127.0.101.0/24")


def test_apiserver_flags_enable_rbac_service_accounts_and_keep_admission_defaults(
    pki: Pki,
) -> None:
    argv = components.apiserver_command(layout(pki))
    assert argv[0] == "/bin-dir/kube-apiserver"
    assert "--authorization-mode=RBAC" in argv
    assert "--etcd-servers=http://127.0.0.1:2379" in argv
    assert "--secure-port=6443" in argv
    assert "--service-account-issuer=https://127.0.0.1:6443" in argv
    assert f"--service-account-signing-key-file={pki.service_account_key}" in argv
    assert f"--client-ca-file={pki.ca_cert}" in argv
    assert "--service-cluster-ip-range=127.0.101.0/24" in argv
    assert f"--kubelet-client-certificate={pki.admin_cert}" in argv
    assert not any(flag.startswith("--disable-admission-plugins") for flag in argv)


def test_controller_manager_signs_tokens_and_uses_per_controller_credentials(pki: Pki) -> None:
    argv = components.controller_manager_command(layout(pki))
    assert f"--service-account-private-key-file={pki.service_account_key}" in argv
    assert f"--root-ca-file={pki.ca_cert}" in argv
    assert "--use-service-account-credentials=true" in argv
    assert "--leader-elect=false" in argv
    assert "--kubeconfig=/work/kubeconfig" in argv


def test_etcd_listens_on_loopback_without_fsync(pki: Pki) -> None:
    argv = components.etcd_command(layout(pki))
    assert "--listen-client-urls=http://127.0.0.1:2379" in argv
    assert "--initial-cluster=default=http://127.0.0.1:2380" in argv
    assert "--unsafe-no-fsync=true" in argv
    assert "--data-dir=/work/etcd" in argv


def test_kubeconfig_embeds_the_ca_and_the_client_certificate(pki: Pki) -> None:
    document = admin_kubeconfig("https://127.0.0.1:6443", pki.ca_cert, pki.admin_cert,
                                pki.admin_key)  # fmt: skip
    cluster = document["clusters"][0]["cluster"]
    user = document["users"][0]["user"]
    assert cluster["server"] == "https://127.0.0.1:6443"
    assert base64.b64decode(cluster["certificate-authority-data"]) == pki.ca_cert.read_bytes()
    assert base64.b64decode(user["client-key-data"]) == pki.admin_key.read_bytes()
    assert document["current-context"] == document["contexts"][0]["name"]


def test_node_is_registered_ready_with_capacity_and_a_loopback_address() -> None:
    node = node_object("n1", "127.0.1.0/24", 1_800_000_000.0, cpus=2, memory_bytes=2**30)
    status = node["status"]
    assert node["spec"]["podCIDR"] == "127.0.1.0/24"
    assert status["capacity"]["cpu"] == "2"
    assert status["allocatable"] == status["capacity"]
    assert {(c["type"], c["status"]) for c in status["conditions"]} == {
        ("Ready", "True"), ("MemoryPressure", "False"), ("DiskPressure", "False"),
        ("PIDPressure", "False")}  # fmt: skip
    assert status["addresses"][0] == {"type": "InternalIP", "address": "127.0.0.1"}


def test_lease_is_owned_by_the_node_and_renewed_with_micro_time() -> None:
    lease = lease_object("n1", "uid-1", 1_800_000_000.25)
    assert lease["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert lease["spec"]["renewTime"] == "2027-01-15T08:00:00.250000Z"
    assert micro_time(0) == "1970-01-01T00:00:00.000000Z"
