"""The user-space service proxy: which Pods back which ClusterIP port, and real forwarding."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from kubedrift_dev.devcluster.network import free_ports
from kubedrift_dev.devcluster.node.serviceproxy import Listener, forwarding_table


def pod(name: str, ip: str, *, labels: dict[str, str], ready: bool = True,
        namespace: str = "ns", deleting: bool = False) -> dict[str, Any]:  # fmt: skip
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "metadata": metadata,
        "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8000}]}]},
        "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": str(ready)}]},
    }


def service(name: str, cluster_ip: str, ports: list[dict[str, Any]],
            selector: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    return {"metadata": {"name": name, "namespace": "ns"},
            "spec": {"clusterIP": cluster_ip, "selector": selector, "ports": ports}}  # fmt: skip


PODS = [
    pod("a", "127.0.1.2", labels={"app": "web", "tier": "x"}),
    pod("b", "127.0.1.3", labels={"app": "web"}),
    pod("c", "127.0.1.4", labels={"app": "web"}, ready=False),
    pod("d", "127.0.1.5", labels={"app": "web"}, deleting=True),
    pod("e", "127.0.1.6", labels={"app": "web"}, namespace="other"),
    pod("f", "127.0.1.7", labels={"app": "db"}),
]


def test_ready_matching_pods_of_the_namespace_back_each_port() -> None:
    services = [service("web", "127.0.101.9", [
        {"name": "http", "port": 80, "targetPort": "http"},
        {"name": "admin", "port": 9000, "targetPort": 9001},
        {"name": "same", "port": 7000},
        {"name": "dns", "port": 53, "protocol": "UDP"},
    ], selector={"app": "web"})]  # fmt: skip

    assert forwarding_table(services, PODS) == {
        ("127.0.101.9", 80): [("127.0.1.2", 8000), ("127.0.1.3", 8000)],
        ("127.0.101.9", 9000): [("127.0.1.2", 9001), ("127.0.1.3", 9001)],
        ("127.0.101.9", 7000): [("127.0.1.2", 7000), ("127.0.1.3", 7000)],
    }


def test_headless_and_selectorless_services_get_no_listener() -> None:
    services = [
        service("headless", "None", [{"port": 80}], selector={"app": "web"}),
        service("manual", "127.0.101.10", [{"port": 80}]),
    ]
    assert forwarding_table(services, PODS) == {}


def test_unknown_named_target_port_leaves_the_port_without_endpoints() -> None:
    services = [service("web", "127.0.101.9", [{"port": 80, "targetPort": "grpc"}],
                        selector={"app": "web"})]  # fmt: skip
    assert forwarding_table(services, PODS) == {("127.0.101.9", 80): []}


class Echo:
    """A TCP server on 127.0.0.1 that answers each connection with its name and the bytes."""

    def __init__(self, name: bytes) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.name = name
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                connection.sendall(self.name + b":" + connection.recv(1024))


@pytest.fixture
def listener() -> Iterator[Listener]:
    (port,) = free_ports(1)
    created = Listener(("127.0.0.1", port))
    yield created
    created.close()


def ask(address: tuple[str, int], data: bytes) -> bytes:
    with socket.create_connection(address, timeout=10) as connection:
        if data:
            connection.sendall(data)
            connection.shutdown(socket.SHUT_WR)
        return b"".join(iter(lambda: connection.recv(1024), b""))


def test_listener_forwards_round_robin_and_refuses_without_endpoints(listener: Listener) -> None:
    first, second = Echo(b"one"), Echo(b"two")
    assert ask(listener.address, b"") == b""  # no endpoints yet: closed at once
    listener.targets = [("127.0.0.1", first.port), ("127.0.0.1", second.port)]

    answers = [ask(listener.address, b"hi") for _ in range(4)]

    assert sorted(answers) == [b"one:hi", b"one:hi", b"two:hi", b"two:hi"]
    first.server.close()
    second.server.close()
