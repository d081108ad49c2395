"""The addresses of a real node's network, all on a bridge the dev cluster creates itself.

Range number N (the cluster's :class:`~kubedrift_dev.devcluster.ranges.AddressRanges` index) gives:

- bridge ``kdbrN`` holding ``10.244.N.1/24``: the Pods' gateway, and the address on which the
  API server, the kubelet and CoreDNS listen, so that Pods reach them;
- Pod IPs from ``10.244.N.2``-``10.244.N.254``, each in the Pod's own network namespace;
- Service ClusterIPs from ``10.245.N.0/24`` (virtual: kube-proxy rewrites them to Pod IPs),
  routed to the bridge so that nothing addressed to them ever leaves the machine; the cluster
  DNS Service takes ``10.245.N.10``.

Pods get no default route: they reach the bridge's subnet and the Service range only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NodeNetwork:
    """The real node's network for range number ``index`` (1 to 99)."""

    index: int

    @property
    def bridge(self) -> str:
        return f"kdbr{self.index}"

    @property
    def pod_cidr(self) -> str:
        return f"10.244.{self.index}.0/24"

    @property
    def gateway(self) -> str:
        """The host's address on the bridge."""
        return f"10.244.{self.index}.1"

    @property
    def service_cidr(self) -> str:
        return f"10.245.{self.index}.0/24"

    @property
    def kubernetes_service_ip(self) -> str:
        """The ``kubernetes`` Service's ClusterIP (the first of the range)."""
        return f"10.245.{self.index}.1"

    @property
    def dns_service_ip(self) -> str:
        return f"10.245.{self.index}.10"
