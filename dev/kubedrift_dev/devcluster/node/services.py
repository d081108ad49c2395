"""How a container finds Services without cluster DNS: the kubelet's Service environment
variables, and an ``/etc/hosts`` with the Pod's own name and the Services of its namespace
(pure functions; both reflect the Services that exist when the container starts).

For a Service ``model-api`` with ClusterIP 127.0.101.7 and port ``http`` 80 the variables are
``MODEL_API_SERVICE_HOST=127.0.101.7``, ``MODEL_API_SERVICE_PORT=80``,
``MODEL_API_SERVICE_PORT_HTTP=80``, ``MODEL_API_PORT=tcp://127.0.101.7:80``,
``MODEL_API_PORT_80_TCP=tcp://127.0.101.7:80`` and its ``_PROTO``, ``_PORT``, ``_ADDR``; the
hosts file maps ``model-api``, ``model-api.NS``, ``model-api.NS.svc`` and
``model-api.NS.svc.cluster.local`` to the ClusterIP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CLUSTER_DOMAIN = "cluster.local"


def _with_cluster_ip(services: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [
        s for s in services
        if s.get("spec", {}).get("clusterIP") not in (None, "", "None")
        and s["metadata"]["name"] != "kubernetes"  # reached through KUBERNETES_SERVICE_HOST
    ]  # fmt: skip


def service_links(services: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The environment variables the kubelet sets for ``services`` (one namespace's)."""
    env: dict[str, str] = {}
    for service in sorted(_with_cluster_ip(services), key=lambda s: s["metadata"]["name"]):
        prefix = service["metadata"]["name"].upper().replace("-", "_")
        ip = service["spec"]["clusterIP"]
        ports = service["spec"].get("ports") or []
        if not ports:
            continue
        env[f"{prefix}_SERVICE_HOST"] = ip
        env[f"{prefix}_SERVICE_PORT"] = str(ports[0]["port"])
        for port in ports:
            if port.get("name"):
                name = port["name"].upper().replace("-", "_")
                env[f"{prefix}_SERVICE_PORT_{name}"] = str(port["port"])
        first = ports[0]
        env[f"{prefix}_PORT"] = f"{first.get('protocol', 'TCP').lower()}://{ip}:{first['port']}"
        for port in ports:
            protocol = port.get("protocol", "TCP")
            key = f"{prefix}_PORT_{port['port']}_{protocol}"
            env[key] = f"{protocol.lower()}://{ip}:{port['port']}"
            env[f"{key}_PROTO"] = protocol.lower()
            env[f"{key}_PORT"] = str(port["port"])
            env[f"{key}_ADDR"] = ip
    return env


def hosts_file(
    pod_ip: str, hostname: str, namespace: str, services: Sequence[Mapping[str, Any]]
) -> str:
    """``/etc/hosts`` for a container: localhost, the Pod's hostname, and ``services``."""
    lines = [
        "# written by the kubedrift node stand-in",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        f"{pod_ip}\t{hostname}",
    ]
    for service in sorted(_with_cluster_ip(services), key=lambda s: s["metadata"]["name"]):
        name = service["metadata"]["name"]
        names = [name, f"{name}.{namespace}", f"{name}.{namespace}.svc",
                 f"{name}.{namespace}.svc.{CLUSTER_DOMAIN}"]  # fmt: skip
        lines.append(f"{service['spec']['clusterIP']}\t{' '.join(names)}")
    return "\n".join(lines) + "\n"
