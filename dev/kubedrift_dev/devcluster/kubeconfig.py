"""Write the admin kubeconfig of a local cluster (certificates embedded, one context)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

CONTEXT = "kubedrift-dev"


def admin_kubeconfig(
    server: str, ca_cert: Path, client_cert: Path, client_key: Path
) -> dict[str, Any]:
    """The kubeconfig document for ``server``, authenticating with a client certificate."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {"server": server, "certificate-authority-data": _b64(ca_cert)},
            }
        ],
        "users": [
            {
                "name": "kubedrift-admin",
                "user": {
                    "client-certificate-data": _b64(client_cert),
                    "client-key-data": _b64(client_key),
                },
            }
        ],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": "kubedrift-admin"}}],
        "current-context": CONTEXT,
    }


def write_kubeconfig(path: Path, document: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")
