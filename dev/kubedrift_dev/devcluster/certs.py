"""Generate the certificates a loopback control plane needs, with the ``openssl`` command.

Use :func:`generate_pki` once per cluster work directory. It writes a throw-away certificate
authority, the API server's serving certificate (valid for 127.0.0.1 and localhost), an admin
client certificate in the ``system:masters`` group (for the harness and the API server's calls
to the node; the operator under test should use a ServiceAccount token), the node stand-in's
serving certificate (for ``kubectl logs``) and the ServiceAccount token signing key pair. Keys are
ECDSA P-256: quick to generate and accepted by every component.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_DAYS = "3650"
_CURVE = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Pki:
    """Paths of the generated files (all PEM)."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    admin_cert: Path
    admin_key: Path
    node_cert: Path
    node_key: Path
    service_account_key: Path
    service_account_pub: Path


def generate_pki(directory: Path, extra_ips: Sequence[str] = ()) -> Pki:
    """Write a fresh CA and every certificate and key the control plane uses into ``directory``.

    ``extra_ips`` are added to the API server's and the node's certificates (a real node's
    bridge address, the ``kubernetes`` Service's ClusterIP) besides 127.0.0.1."""
    ips = "".join(f",IP:{ip}" for ip in extra_ips)
    directory.mkdir(parents=True, exist_ok=True)
    pki = Pki(
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        server_cert=directory / "apiserver.crt",
        server_key=directory / "apiserver.key",
        admin_cert=directory / "admin.crt",
        admin_key=directory / "admin.key",
        node_cert=directory / "node.crt",
        node_key=directory / "node.key",
        service_account_key=directory / "sa.key",
        service_account_pub=directory / "sa.pub",
    )
    _openssl(
        "req", "-x509", *_CURVE, "-days", _DAYS,
        "-keyout", pki.ca_key, "-out", pki.ca_cert,
        "-subj", "/CN=kubedrift-dev-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    )  # fmt: skip
    _signed_cert(
        pki,
        pki.server_cert,
        pki.server_key,
        subject="/CN=kube-apiserver",
        extensions=[
            f"subjectAltName=IP:127.0.0.1{ips},DNS:localhost,DNS:kubernetes,"
            "DNS:kubernetes.default,DNS:kubernetes.default.svc,"
            "DNS:kubernetes.default.svc.cluster.local",
            "extendedKeyUsage=serverAuth",
        ],
    )
    _signed_cert(
        pki,
        pki.admin_cert,
        pki.admin_key,
        subject="/O=system:masters/CN=kubedrift-admin",
        extensions=["extendedKeyUsage=clientAuth"],
    )
    _signed_cert(
        pki,
        pki.node_cert,
        pki.node_key,
        subject="/CN=kubedrift-node",
        extensions=[
            f"subjectAltName=IP:127.0.0.1{ips},DNS:localhost",
            "extendedKeyUsage=serverAuth",
        ],
    )
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-out", pki.service_account_key)  # fmt: skip
    _openssl("pkey", "-in", pki.service_account_key, "-pubout", "-out", pki.service_account_pub)
    for key in (pki.ca_key, pki.server_key, pki.admin_key, pki.node_key,
                pki.service_account_key):  # fmt: skip
        key.chmod(0o600)
    return pki


def _signed_cert(pki: Pki, cert: Path, key: Path, *, subject: str, extensions: list[str]) -> None:
    csr = cert.with_suffix(".csr")
    _openssl("req", "-new", *_CURVE, "-keyout", key, "-out", csr, "-subj", subject)
    ext_file = cert.with_suffix(".ext")
    ext_file.write_text(
        "\n".join(["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,"
                   "keyEncipherment", *extensions]) + "\n"
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", csr, "-CA", pki.ca_cert, "-CAkey", pki.ca_key,
        "-set_serial", str(secrets.randbits(63)), "-days", _DAYS,
        "-extfile", ext_file, "-out", cert,
    )  # fmt: skip
    csr.unlink()
    ext_file.unlink()


def _openssl(*args: str | Path) -> None:
    result = subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")
