"""The Pod watcher against a scripted API server: resumes from the last resourceVersion, relists
after 410 Gone (Pods missing from the new list count as deleted), and hands every event to the
Pod's worker."""

from __future__ import annotations

import http.server
import json
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from kubedrift_dev.devcluster.certs import Pki, generate_pki
from kubedrift_dev.devcluster.node.rest import Rest
from kubedrift_dev.devcluster.node.watcher import PodWatcher


def pod(uid: str, version: str) -> dict[str, Any]:
    return {"metadata": {"name": uid, "namespace": "ns", "uid": uid, "resourceVersion": version}}


LISTS = [
    {"metadata": {"resourceVersion": "10"}, "items": [pod("a", "9"), pod("b", "9")]},
    {"metadata": {"resourceVersion": "20"}, "items": [pod("a", "12")]},
]
WATCHES = [
    [{"type": "MODIFIED", "object": pod("a", "11")},
     {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}],
    [{"type": "BOOKMARK", "object": pod("", "20")},
     {"type": "DELETED", "object": pod("a", "21")}],
]  # fmt: skip


class ScriptedApiServer(http.server.ThreadingHTTPServer):
    """Stands in for the API server's Pod list and watch (TLS with client certificates, chunked
    watch streams). After the script, a watch stays open until :attr:`done` is set."""

    daemon_threads = True

    def __init__(self, pki: Pki) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
        context.load_verify_locations(str(pki.ca_cert))
        context.verify_mode = ssl.CERT_REQUIRED
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.lists, self.watches = list(LISTS), list(WATCHES)
        self.watched_from: list[str] = []
        self.done = threading.Event()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: ScriptedApiServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        assert query["fieldSelector"] == "spec.nodeName=node-1"
        if query.get("watch") != "true":
            body = json.dumps(self.server.lists.pop(0)).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.server.watched_from.append(query["resourceVersion"])
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.server.watches:
            for event in self.server.watches.pop(0):
                line = json.dumps(event).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
        else:
            self.server.done.wait(30)
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        del format, args


class RecordingWorker:
    """Stands in for a Pod worker (which would run processes): records what it is told."""

    def __init__(self, pod: Mapping[str, Any]) -> None:
        self.pod_dir = Path("/nonexistent")
        self.calls: list[str] = []
        self.alive = False

    def start(self) -> None:
        self.alive = True
        self.calls.append("start")

    def is_alive(self) -> bool:
        return self.alive

    def join(self, timeout: float | None = None) -> None:
        del timeout

    def update(self, pod: Mapping[str, Any]) -> None:
        self.calls.append(f"update@{pod['metadata']['resourceVersion']}")

    def vanish(self) -> None:
        self.alive = False
        self.calls.append("vanish")

    def shutdown(self) -> None:
        self.calls.append("shutdown")

    def container_running(self, name: str) -> bool:
        return False


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return generate_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def server(pki: Pki) -> Iterator[ScriptedApiServer]:
    scripted = ScriptedApiServer(pki)
    threading.Thread(target=scripted.serve_forever, daemon=True).start()
    yield scripted
    scripted.done.set()
    scripted.shutdown()
    scripted.server_close()


def test_watch_resumes_relists_after_gone_and_reports_deletions(
    server: ScriptedApiServer, pki: Pki, tmp_path: Path
) -> None:
    rest = Rest(f"https://127.0.0.1:{server.server_address[1]}", str(pki.ca_cert),
                str(pki.admin_cert), str(pki.admin_key))  # fmt: skip
    created: dict[str, RecordingWorker] = {}

    def make_worker(pod: Mapping[str, Any]) -> RecordingWorker:
        created[pod["metadata"]["uid"]] = RecordingWorker(pod)
        return created[pod["metadata"]["uid"]]

    stop = threading.Event()
    watcher = PodWatcher(rest, "node-1", stop, make_worker, pods_dir=tmp_path)
    watcher.start()
    deadline = time.monotonic() + 30  # a hang guard: the script takes milliseconds
    while len(server.watched_from) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    server.done.set()
    watcher.join(timeout=30)

    assert server.watched_from == ["10", "20", "21"]
    assert created["a"].calls == ["start", "update@11", "update@12", "vanish"]
    assert created["b"].calls == ["start", "vanish"]  # gone from the list after 410
    assert watcher.workers == {}
    assert not watcher.is_alive()
