"""A real local Kubernetes control plane for tests, the demo and ``kubedrift dev-cluster``.

:class:`ControlPlane` starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
the node stand-in (:mod:`kubedrift.devcluster.node`) on loopback. Binaries come from
``tests/controlplane/build.sh`` (see :func:`locate_binaries`).
"""

from kubedrift.devcluster.binaries import BinariesNotFoundError, locate_binaries
from kubedrift.devcluster.launcher import ControlPlane, ControlPlaneError

__all__ = ["BinariesNotFoundError", "ControlPlane", "ControlPlaneError", "locate_binaries"]
