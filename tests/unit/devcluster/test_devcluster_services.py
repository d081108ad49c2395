"""Service environment variables and /etc/hosts, as containers see them at start."""

from __future__ import annotations

from typing import Any

from kubedrift_dev.devcluster.node.services import hosts_file, service_links


def service(name: str, ip: str, ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"clusterIP": ip, "ports": ports}}


SERVICES = [
    service("model-api", "127.0.101.7",
            [{"name": "http", "port": 80}, {"name": "metrics", "port": 9090}]),
    service("headless", "None", [{"port": 80}]),
    service("kubernetes", "127.0.101.1", [{"name": "https", "port": 443}]),
]  # fmt: skip


def test_service_links_follow_the_kubelets_naming() -> None:
    assert service_links(SERVICES) == {
        "MODEL_API_SERVICE_HOST": "127.0.101.7",
        "MODEL_API_SERVICE_PORT": "80",
        "MODEL_API_SERVICE_PORT_HTTP": "80",
        "MODEL_API_SERVICE_PORT_METRICS": "9090",
        "MODEL_API_PORT": "tcp://127.0.101.7:80",
        "MODEL_API_PORT_80_TCP": "tcp://127.0.101.7:80",
        "MODEL_API_PORT_80_TCP_PROTO": "tcp",
        "MODEL_API_PORT_80_TCP_PORT": "80",
        "MODEL_API_PORT_80_TCP_ADDR": "127.0.101.7",
        "MODEL_API_PORT_9090_TCP": "tcp://127.0.101.7:9090",
        "MODEL_API_PORT_9090_TCP_PROTO": "tcp",
        "MODEL_API_PORT_9090_TCP_PORT": "9090",
        "MODEL_API_PORT_9090_TCP_ADDR": "127.0.101.7",
    }


def test_hosts_file_names_the_pod_and_each_service_of_its_namespace() -> None:
    assert hosts_file("127.0.1.5", "web-1", "shop", SERVICES).splitlines() == [
        "# written by the kubedrift node stand-in",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "127.0.1.5\tweb-1",
        "127.0.101.7\tmodel-api model-api.shop model-api.shop.svc model-api.shop.svc.cluster.local",
    ]
