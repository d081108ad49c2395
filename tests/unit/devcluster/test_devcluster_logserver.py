"""The node's log endpoint: tail and limit, client certificates required, names checked."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kubedrift_dev.devcluster.certs import Pki, generate_pki
from kubedrift_dev.devcluster.network import free_ports
from kubedrift_dev.devcluster.node.logserver import LogServer, tail


@pytest.mark.parametrize(
    ("lines", "expected"),
    [(None, b"a\nb\nc\n"), (2, b"b\nc\n"), (5, b"a\nb\nc\n"), (0, b"")],
)
def test_tail_keeps_the_last_lines(lines: int | None, expected: bytes) -> None:
    assert tail(b"a\nb\nc\n", lines) == expected


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return generate_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def endpoint(pki: Pki, tmp_path: Path) -> Iterator[str]:
    log = tmp_path / "main.log"
    log.write_bytes(b"one\ntwo\nthree\n")

    def locate(namespace: str, pod: str, container: str) -> tuple[Path, Callable[[], bool]] | None:
        if (namespace, pod, container) != ("ns", "web", "main"):
            return None
        return log, lambda: False

    (port,) = free_ports(1)
    server = LogServer(("127.0.0.1", port), locate, cert=str(pki.node_cert),
                       key=str(pki.node_key), client_ca=str(pki.ca_cert))  # fmt: skip
    server.start()
    yield f"https://127.0.0.1:{port}/containerLogs"
    server.shutdown()
    server.server_close()


def get(url: str, pki: Pki, *, client_cert: bool = True) -> bytes:
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    if client_cert:
        context.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
    with urllib.request.urlopen(url, timeout=10, context=context) as response:
        body: bytes = response.read()
        return body


def test_log_is_served_whole_tailed_or_limited(endpoint: str, pki: Pki) -> None:
    assert get(f"{endpoint}/ns/web/main", pki) == b"one\ntwo\nthree\n"
    assert get(f"{endpoint}/ns/web/main?tailLines=1", pki) == b"three\n"
    assert get(f"{endpoint}/ns/web/main?limitBytes=5", pki) == b"one\nt"
    assert get(f"{endpoint}/ns/web/main?follow=true", pki) == b"one\ntwo\nthree\n"


def test_unknown_containers_and_odd_names_are_not_found(endpoint: str, pki: Pki) -> None:
    for path in ("ns/web/other", "ns/web/..", "ns/web", "ns/web/main/extra"):
        with pytest.raises(urllib.error.HTTPError) as error:
            get(f"{endpoint}/{path}", pki)
        error.value.close()
        assert error.value.code == 404


def test_clients_without_a_certificate_from_the_cluster_ca_are_refused(
    endpoint: str, pki: Pki
) -> None:
    with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
        get(f"{endpoint}/ns/web/main", pki, client_cert=False)
