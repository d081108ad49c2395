"""Readiness, liveness and startup probes: when each is due and what its outcome means.

:class:`ProbeTracker` is the pure part (initial delay, period, success and failure thresholds);
:func:`run_probe` performs one check: ``httpGet`` (status 200-399), ``tcpSocket`` (connects) or
``exec`` (exit code 0, run inside the container's mount namespace).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ProbeTracker:
    """Schedules one probe of one container run and turns outcomes into a verdict.

    ``passing`` starts as ``initial`` (False for readiness and startup, True for liveness) and
    flips after ``successThreshold`` consecutive successes or ``failureThreshold`` failures.
    """

    probe: Mapping[str, Any]
    started_at: float
    initial: bool = False
    passing: bool = field(init=False)
    next_at: float = field(init=False)
    _successes: int = 0
    _failures: int = 0

    def __post_init__(self) -> None:
        self.passing = self.initial
        self.next_at = self.started_at + float(self.probe.get("initialDelaySeconds", 0))

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def record(self, ok: bool, now: float) -> None:
        """Account for one outcome observed at ``now`` and schedule the next check."""
        self.next_at = now + float(self.probe.get("periodSeconds", 10))
        if ok:
            self._successes += 1
            self._failures = 0
            if self._successes >= int(self.probe.get("successThreshold", 1)):
                self.passing = True
        else:
            self._failures += 1
            self._successes = 0
            if self._failures >= int(self.probe.get("failureThreshold", 3)):
                self.passing = False

    @property
    def failed_out(self) -> bool:
        """Whether the failure threshold has been reached (liveness/startup: restart)."""
        return self._failures >= int(self.probe.get("failureThreshold", 3))


def resolve_port(port: int | str, container: Mapping[str, Any]) -> int:
    """A probe's ``port``: a number, or the name of one of the container's ports."""
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for entry in container.get("ports") or []:
        if entry.get("name") == port:
            return int(entry["containerPort"])
    raise ValueError(f"container {container.get('name')} has no port named {port!r}")


def run_probe(
    probe: Mapping[str, Any],
    container: Mapping[str, Any],
    pod_ip: str,
    exec_prefix: Sequence[str],
    env: Mapping[str, str],
) -> bool:
    """Perform one check of ``probe``; ``exec_prefix`` enters the container (nsenter ...)."""
    timeout = float(probe.get("timeoutSeconds", 1))
    try:
        if "httpGet" in probe:
            return _http_get(probe["httpGet"], container, pod_ip, timeout)
        if "tcpSocket" in probe:
            check = probe["tcpSocket"]
            address = (check.get("host") or pod_ip, resolve_port(check["port"], container))
            with socket.create_connection(address, timeout=timeout):
                return True
        if "exec" in probe:
            result = subprocess.run(
                [*exec_prefix, *probe["exec"]["command"]],
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
            return result.returncode == 0
    except (OSError, ValueError, subprocess.TimeoutExpired, http.client.HTTPException):
        return False
    return False


def _http_get(check: Mapping[str, Any], container: Mapping[str, Any], pod_ip: str,
              timeout: float) -> bool:  # fmt: skip
    host = check.get("host") or pod_ip
    port = resolve_port(check["port"], container)
    connection: http.client.HTTPConnection
    if check.get("scheme", "HTTP") == "HTTPS":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {h["name"]: h["value"] for h in check.get("httpHeaders") or []}
        connection.request("GET", check.get("path", "/"), headers=headers)
        return 200 <= connection.getresponse().status < 400
    finally:
        connection.close()
