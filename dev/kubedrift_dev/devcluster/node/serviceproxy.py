"""kube-proxy's part, in user space: each Service ClusterIP (a loopback address, see
:mod:`kubedrift_dev.devcluster.ranges`) listens on the Service's TCP ports and forwards every
connection to one of the Ready Pods its selector matches, round-robin.

:func:`forwarding_table` is the pure part; :class:`ServiceProxy` polls the API once a second
and keeps one :class:`Listener` per ClusterIP and port. UDP, NodePorts, session affinity and
DNS names are not provided.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from kubedrift_dev.devcluster.node.rest import ApiError, Rest

log = logging.getLogger(__name__)

Address = tuple[str, int]
POLL_SECONDS = 1.0
CONNECT_TIMEOUT = 5.0


def forwarding_table(
    services: Sequence[Mapping[str, Any]], pods: Sequence[Mapping[str, Any]]
) -> dict[Address, list[Address]]:
    """``(clusterIP, port) -> [(pod IP, target port), ...]`` for every TCP port of every
    Service with a selector and a ClusterIP, over the Ready Pods the selector matches.

    The endpoints come from the Pods themselves: the EndpointSlice controller cannot publish
    them, because the API server refuses loopback addresses in EndpointSlices.
    """
    table: dict[Address, list[Address]] = {}
    for service in services:
        spec, namespace = service.get("spec", {}), service["metadata"].get("namespace")
        cluster_ip, selector = spec.get("clusterIP"), spec.get("selector") or {}
        if not cluster_ip or cluster_ip == "None" or not selector:
            continue
        members = [
            pod for pod in pods
            if pod["metadata"].get("namespace") == namespace and _ready(pod)
            and selector.items() <= (pod["metadata"].get("labels") or {}).items()
        ]  # fmt: skip
        for port in spec.get("ports") or []:
            if port.get("protocol", "TCP") != "TCP":
                continue
            wanted = port.get("targetPort", port["port"])
            targets = set()
            for pod in members:
                number = _container_port(pod, wanted)
                if number is not None:
                    targets.add((pod["status"]["podIP"], number))
            table[(cluster_ip, int(port["port"]))] = sorted(targets)
    return table


def _ready(pod: Mapping[str, Any]) -> bool:
    status = pod.get("status") or {}
    conditions = status.get("conditions") or []
    return (
        bool(status.get("podIP"))
        and not pod["metadata"].get("deletionTimestamp")
        and any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    )


def _container_port(pod: Mapping[str, Any], target: int | str) -> int | None:
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    for container in pod.get("spec", {}).get("containers") or []:
        for entry in container.get("ports") or []:
            if entry.get("name") == target:
                return int(entry["containerPort"])
    return None


class Listener:
    """Accepts connections on one ClusterIP and port and pipes each to an endpoint."""

    def __init__(self, address: Address) -> None:
        self.address = address
        self.targets: list[Address] = []
        self._turn = itertools.count()
        self._socket = socket.create_server(address, backlog=128)
        threading.Thread(target=self._accept, name=f"svc-{address[0]}:{address[1]}",
                         daemon=True).start()  # fmt: skip

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._socket.accept()
            except OSError:
                return  # closed
            targets = self.targets
            if not targets:
                client.close()  # no ready endpoint: refuse, as kube-proxy does
                continue
            target = targets[next(self._turn) % len(targets)]
            threading.Thread(target=self._connect, args=(client, target), daemon=True).start()

    def _connect(self, client: socket.socket, target: Address) -> None:
        try:
            upstream = socket.create_connection(target, timeout=CONNECT_TIMEOUT)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
        back.start()
        _pipe(client, upstream)
        back.join()
        client.close()
        upstream.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


class ServiceProxy(threading.Thread):
    """Keeps one :class:`Listener` per Service port in step with the API until ``stop``."""

    def __init__(self, rest: Rest, stop: threading.Event) -> None:
        super().__init__(name="service-proxy", daemon=True)
        self.rest = rest
        self.stop = stop
        self.listeners: dict[Address, Listener] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                services = self.rest.get("/api/v1/services").get("items") or []
                pods = self.rest.get("/api/v1/pods", fieldSelector="status.phase=Running")
                self._apply(forwarding_table(services, pods.get("items") or []))
            except (ApiError, OSError, KeyError, ValueError) as error:
                log.warning("service proxy sync failed: %s", error)
            self.stop.wait(POLL_SECONDS)
        for listener in self.listeners.values():
            listener.close()

    def _apply(self, table: Mapping[Address, list[Address]]) -> None:
        for address in [a for a in self.listeners if a not in table]:
            self.listeners.pop(address).close()
        for address, targets in table.items():
            listener = self.listeners.get(address)
            if listener is None:
                try:
                    listener = self.listeners[address] = Listener(address)
                except OSError as error:
                    log.warning("cannot listen on %s:%d: %s", *address, error)
                    continue
            listener.targets = targets
