"""What the demo asks the cluster, through the official client: create its objects, read the
monitor's status, its Jobs, Events and the model Pods.

Use :class:`DemoCluster` with an ``ApiClient`` and the demo's namespace.
"""

from __future__ import annotations

import base64
from typing import Any

from kubedrift_dev.demo.manifests import MODEL

GROUP, VERSION, PLURAL = "kubedrift.io", "v1alpha1", "modelmonitors"


class DemoCluster:
    """The demo's view of its namespace (admin credentials)."""

    def __init__(self, api_client: Any, namespace: str) -> None:
        from kubernetes import client  # noqa: PLC0415 - keep `kubedrift --help` light

        # Typed as Any: the demo passes and reads plain dicts, not the client's model classes.
        self.api = api_client
        self.namespace = namespace
        self.core: Any = client.CoreV1Api(api_client)
        self.apps: Any = client.AppsV1Api(api_client)
        self.batch: Any = client.BatchV1Api(api_client)
        self.rbac: Any = client.RbacAuthorizationV1Api(api_client)
        self.custom: Any = client.CustomObjectsApi(api_client)

    def create_namespace(self) -> bool:
        """Create the namespace; False when it exists already."""
        from kubernetes.client import ApiException  # noqa: PLC0415

        try:
            self.core.create_namespace({"metadata": {"name": self.namespace}})
        except ApiException as error:
            if error.status != 409:
                raise
            return False
        return True

    def create(self, body: dict[str, Any]) -> None:
        """Create one object of a kind the demo uses."""
        kind, ns = body["kind"], self.namespace
        creators = {
            "ConfigMap": lambda: self.core.create_namespaced_config_map(ns, body),
            "ServiceAccount": lambda: self.core.create_namespaced_service_account(ns, body),
            "Role": lambda: self.rbac.create_namespaced_role(ns, body),
            "RoleBinding": lambda: self.rbac.create_namespaced_role_binding(ns, body),
            "Deployment": lambda: self.apps.create_namespaced_deployment(ns, body),
            "ModelMonitor": lambda: self.custom.create_namespaced_custom_object(
                GROUP, VERSION, ns, PLURAL, body
            ),
        }
        creators[kind]()

    def _plain(self, obj: Any) -> Any:
        """An API object as plain JSON-shaped dicts and lists."""
        return self.api.sanitize_for_serialization(obj)

    def monitor(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name
        )
        return found

    def status(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.monitor(name).get("status") or {}
        return found

    def jobs(self) -> list[str]:
        listed = self._plain(self.batch.list_namespaced_job(self.namespace))
        return sorted(str(job["metadata"]["name"]) for job in listed["items"])

    def events(self) -> list[tuple[str, str, str]]:
        """(reason, type, message) of the namespace's Events, oldest first, each as often as it
        happened (a repeat raises an Event's count)."""
        listed = self._plain(self.core.list_namespaced_event(self.namespace))["items"]
        listed.sort(
            key=lambda e: str(
                e.get("lastTimestamp")
                or e.get("eventTime")
                or e["metadata"].get("creationTimestamp")
            )
        )
        return [
            (str(e.get("reason")), str(e.get("type")), str(e.get("message")))
            for e in listed
            for _ in range(int(e.get("count") or 1))
        ]

    def secret_value(self, name: str, key: str) -> str | None:
        """A key of a Secret, None while the Secret does not exist."""
        from kubernetes.client import ApiException  # noqa: PLC0415

        try:
            secret = self._plain(self.core.read_namespaced_secret(name, self.namespace))
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return base64.b64decode(secret["data"][key]).decode()

    def deployed_version(self) -> str | None:
        """``MODEL_VERSION`` of the model container in the Deployment's template."""
        deployment = self._plain(self.apps.read_namespaced_deployment(MODEL, self.namespace))
        return _model_env(deployment["spec"]["template"]).get("MODEL_VERSION")

    def serving_pod_ips(self, version: str) -> list[str] | None:
        """IPs of the model Pods that run ``version`` with model and sidecar ready, once no
        other Pod is left (None while a rollout is still in progress)."""
        listed = self.core.list_namespaced_pod(self.namespace, label_selector=f"app={MODEL}")
        ips = []
        for pod in self._plain(listed)["items"]:
            current = _model_env(pod).get("MODEL_VERSION") == version
            if pod["metadata"].get("deletionTimestamp") or not current:
                return None
            status = pod.get("status") or {}
            ready = {s["name"] for s in status.get("containerStatuses") or [] if s.get("ready")}
            if {"model", "kubedrift-sidecar"} <= ready and status.get("podIP"):
                ips.append(str(status["podIP"]))
        return ips or None


def _model_env(pod_or_template: dict[str, Any]) -> dict[str, str | None]:
    containers = pod_or_template["spec"]["containers"]
    return {
        e["name"]: e.get("value")
        for c in containers
        if c["name"] == "model"
        for e in c.get("env") or []
    }
