"""Loopback ports and HTTPS health checks of the control-plane components."""

from __future__ import annotations

import contextlib
import socket
import ssl
import urllib.error
import urllib.request
from pathlib import Path


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on 127.0.0.1 right now (all sockets held until chosen)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def https_ok(
    url: str,
    *,
    ca_cert: Path | None = None,
    client_cert: Path | None = None,
    client_key: Path | None = None,
    timeout: float = 2.0,
) -> bool:
    """Whether GET ``url`` answers 200. Without ``ca_cert`` the server is not verified (use only
    for components whose self-signed health endpoint we started ourselves)."""
    if ca_cert is None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context(cafile=str(ca_cert))
    if client_cert is not None:
        context.load_cert_chain(str(client_cert), str(client_key) if client_key else None)
    with (
        contextlib.suppress(OSError, urllib.error.URLError),
        urllib.request.urlopen(url, timeout=timeout, context=context) as response,
    ):
        return bool(response.status == 200)
    return False
