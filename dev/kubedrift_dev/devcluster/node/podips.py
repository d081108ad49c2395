"""Loopback addresses for Pods: each Pod gets its own, reported as ``status.podIP``."""

from __future__ import annotations

import ipaddress
import threading


class AddressPool:
    """Hands out the host addresses of ``cidr`` (a loopback range) round-robin, so that an address
    is reused as late as possible. The network's first address and 127.0.1.1 (Debian's
    hostname entry in /etc/hosts) are skipped.

    >>> pool = AddressPool("127.0.1.0/29")
    >>> pool.allocate("pod-a"), pool.allocate("pod-b")
    ('127.0.1.2', '127.0.1.3')
    """

    def __init__(self, cidr: str) -> None:
        network = ipaddress.ip_network(cidr)
        if not network.subnet_of(ipaddress.ip_network("127.0.0.0/8")):  # type: ignore[arg-type]
            raise ValueError(f"pod CIDR {cidr} is not a loopback range")
        self._free = [
            str(host) for host in network.hosts() if str(host) not in ("127.0.1.1", "127.0.0.1")
        ]
        self._taken: dict[str, str] = {}
        self._lock = threading.Lock()

    def allocate(self, key: str) -> str:
        """The address of ``key`` (the same one again while it holds it)."""
        with self._lock:
            if key in self._taken:
                return self._taken[key]
            if not self._free:
                raise RuntimeError("no free pod address left")
            address = self._free.pop(0)
            self._taken[key] = address
            return address

    def release(self, key: str) -> None:
        with self._lock:
            address = self._taken.pop(key, None)
            if address is not None:
                self._free.append(address)
