"""Probe scheduling and thresholds, and probe checks against real local servers."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from kubedrift_dev.devcluster.node.probes import ProbeTracker, resolve_port, run_probe


def test_tracker_waits_the_initial_delay_then_checks_every_period() -> None:
    tracker = ProbeTracker({"initialDelaySeconds": 5, "periodSeconds": 2}, started_at=100.0)
    assert not tracker.due(104.9)
    assert tracker.due(105.0)
    tracker.record(True, 105.0)
    assert not tracker.due(106.9)
    assert tracker.due(107.0)


def test_readiness_flips_after_success_and_failure_thresholds() -> None:
    tracker = ProbeTracker({"successThreshold": 2, "failureThreshold": 3}, started_at=0.0)
    outcomes = [True, True, False, False, True, False, False, False]
    seen = []
    for now, ok in enumerate(outcomes):
        tracker.record(ok, float(now))
        seen.append(tracker.passing)
    assert seen == [False, True, True, True, True, True, True, False]


def test_liveness_starts_passing_and_fails_out_after_the_threshold() -> None:
    tracker = ProbeTracker({"failureThreshold": 2}, started_at=0.0, initial=True)
    assert tracker.passing
    tracker.record(False, 1.0)
    assert not tracker.failed_out
    tracker.record(False, 2.0)
    assert tracker.failed_out


def test_named_ports_resolve_through_the_container_ports() -> None:
    container = {"name": "web", "ports": [{"name": "http", "containerPort": 8000}]}
    assert resolve_port("http", container) == 8000
    assert resolve_port(9000, container) == 9000
    assert resolve_port("9001", container) == 9001
    with pytest.raises(ValueError, match="no port named 'grpc'"):
        resolve_port("grpc", container)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthy" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture
def server_port() -> Iterator[int]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_http_get_probe_passes_on_2xx_and_fails_on_5xx(server_port: int) -> None:
    container = {"name": "c"}
    ok = {"httpGet": {"path": "/healthy", "port": server_port}}
    bad = {"httpGet": {"path": "/sick", "port": server_port}}
    assert run_probe(ok, container, "127.0.0.1", [], {})
    assert not run_probe(bad, container, "127.0.0.1", [], {})


def test_tcp_probe_passes_when_something_listens(server_port: int) -> None:
    assert run_probe({"tcpSocket": {"port": server_port}}, {}, "127.0.0.1", [], {})


def test_tcp_probe_fails_when_nothing_listens(server_port: int) -> None:
    # The fixture's port on another loopback address has no listener.
    assert not run_probe({"tcpSocket": {"port": server_port}}, {}, "127.0.9.9", [], {})


def test_exec_probe_uses_the_exit_code() -> None:
    assert run_probe(
        {"exec": {"command": ["true"]}}, {}, "127.0.0.1", [], {"PATH": "/usr/bin:/bin"}
    )
    assert not run_probe({"exec": {"command": ["false"]}}, {}, "127.0.0.1", [],
                         {"PATH": "/usr/bin:/bin"})  # fmt: skip
