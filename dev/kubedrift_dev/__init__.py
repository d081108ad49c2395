"""kubedrift's development tools: a local cluster for the tests and the demo, and the demo itself.

They live beside the product, not in it: the wheel and the image carry only ``kubedrift`` (the
operator, the sidecar and the CLI). An editable install of the repository (``make venv``) puts
both packages on the path; ``python -m kubedrift_dev`` is their command line (``make demo``,
``make cluster-up``).

``kubedrift_dev.devcluster`` runs a real control plane (etcd, kube-apiserver, controller manager,
scheduler) and a node, either the process stand-in or a real kubelet on containerd;
``kubedrift_dev.demo`` runs the whole loop on it, or on the cluster in ``KUBECONFIG``.
"""
