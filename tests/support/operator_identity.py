"""The identity the operator under test runs as: a ServiceAccount of the test's namespace with the
Helm chart's own permissions, so every operator test also checks that the chart grants what the
operator does (an admin kubeconfig would hide a missing verb).

The namespaced rules are read from the chart (``kubedrift.namespacedRules`` in
``charts/kubedrift/templates/_helpers.tpl``, plain YAML); the cluster-scoped ones are those of
the chart's ``-scanning`` ClusterRole when it watches given namespaces (CustomResourceDefinitions
and Namespaces, read-only), checked against the rendered chart by ``test_chart_render``. The token
comes from the TokenRequest API, as a Pod's projected token does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
HELPERS = REPO / "charts" / "kubedrift" / "templates" / "_helpers.tpl"
ACCOUNT = "kubedrift-operator"
SCANNING_RULES = [
    {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
     "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]},
]  # fmt: skip


def chart_namespaced_rules() -> list[dict[str, Any]]:
    """The chart's ``kubedrift.namespacedRules``, parsed."""
    found = re.search(
        r'define "kubedrift\.namespacedRules" -}}\n(.*?)\n{{- end -}}', HELPERS.read_text(), re.S
    )
    assert found is not None, f"no kubedrift.namespacedRules in {HELPERS}"
    rules: list[dict[str, Any]] = yaml.safe_load(found.group(1))
    return rules


class OperatorIdentity:
    """Creates the ServiceAccount, its Role and ClusterRole bindings and a kubeconfig for it;
    :meth:`remove` deletes the cluster-scoped objects (the namespace takes the rest)."""

    def __init__(self, cluster: Any, namespace: str, work_dir: Path) -> None:
        from kubernetes import client  # noqa: PLC0415

        self.namespace = namespace
        api = cluster.api_client()
        self._core = client.CoreV1Api(api)
        self._rbac = client.RbacAuthorizationV1Api(api)
        self._cluster_name = f"kubedrift-test-{namespace}"
        subject = [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": namespace}]
        self._core.create_namespaced_service_account(namespace, {"metadata": {"name": ACCOUNT}})
        self._rbac.create_namespaced_role(
            namespace, {"metadata": {"name": ACCOUNT}, "rules": chart_namespaced_rules()}
        )
        self._rbac.create_namespaced_role_binding(
            namespace,
            {
                "metadata": {"name": ACCOUNT},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                            "name": ACCOUNT},
                "subjects": subject,
            },
        )  # fmt: skip
        self._rbac.create_cluster_role(
            {"metadata": {"name": self._cluster_name}, "rules": SCANNING_RULES}
        )
        self._rbac.create_cluster_role_binding(
            {
                "metadata": {"name": self._cluster_name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                            "name": self._cluster_name},
                "subjects": subject,
            }
        )  # fmt: skip
        token = self._core.create_namespaced_service_account_token(
            ACCOUNT, namespace, {"spec": {"expirationSeconds": 7200}}
        ).status.token
        admin = yaml.safe_load(Path(cluster.kubeconfig).read_text())
        context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])
        server = next(c for c in admin["clusters"] if c["name"] == context["context"]["cluster"])
        self.kubeconfig = work_dir / f"{ACCOUNT}.kubeconfig"
        self.kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [server],
                    "users": [{"name": ACCOUNT, "user": {"token": token}}],
                    "contexts": [
                        {"name": ACCOUNT, "context": {"cluster": server["name"], "user": ACCOUNT,
                                                      "namespace": namespace}}
                    ],
                    "current-context": ACCOUNT,
                }
            )
        )  # fmt: skip

    def remove(self) -> None:
        """Delete the cluster-scoped objects (again: nothing happens)."""
        from kubernetes.client import ApiException  # noqa: PLC0415

        for delete in (self._rbac.delete_cluster_role_binding, self._rbac.delete_cluster_role):
            try:
                delete(self._cluster_name)
            except ApiException as error:
                if error.status != 404:
                    raise
