"""A real node for the dev cluster: containerd with runc, a bridge CNI network, the kubelet,
kube-proxy (iptables) and CoreDNS, all as host processes next to the control plane.

Opt-in (``python -m kubedrift_dev dev-cluster up --node real``,
``ControlPlane(..., node="real")``); the process stand-in in :mod:`kubedrift_dev.devcluster.node`
stays the default. Only one real node runs on a machine at a time: kube-proxy owns the host's
``KUBE-*`` iptables chains.
"""
