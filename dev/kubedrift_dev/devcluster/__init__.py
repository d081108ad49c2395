"""A real local Kubernetes control plane for tests, the demo and
``python -m kubedrift_dev dev-cluster``.

:class:`ControlPlane` starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
the node stand-in (:mod:`kubedrift_dev.devcluster.node`) on loopback. Binaries come from
``tests/controlplane/build.sh`` (see :func:`locate_binaries`).
"""

from kubedrift_dev.devcluster.binaries import BinariesNotFoundError, locate_binaries
from kubedrift_dev.devcluster.launcher import ControlPlane, ControlPlaneError

__all__ = ["BinariesNotFoundError", "ControlPlane", "ControlPlaneError", "locate_binaries"]
