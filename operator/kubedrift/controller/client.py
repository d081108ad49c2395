"""The only module that talks to the Kubernetes API: a small async JSON client.

Objects go in and out as plain dicts in their wire shape (camelCase), which is what the pure
builders produce and consume. Credentials come from the kubeconfig or the in-cluster service
account, loaded by the ``kubernetes`` package; requests go through one ``aiohttp`` session.
``get`` returns ``None`` for 404; other failures raise :class:`ApiError` with the status.

Writes computed from an object read before go through :meth:`KubeClient.update` (optimistic
concurrency, see :mod:`kubedrift.controller.conflicts`); writes of a value that does not depend
on what was read (a ConfigMap rendered from the spec, a new Job, an Event) need no precondition.
"""

from __future__ import annotations

import json
import os
import ssl
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import kopf
import kubernetes

from kubedrift.controller.conflicts import (
    ConflictError,
    SupersededError,
    retry_conflicts,
    with_resource_version,
)
from kubedrift.controller.names import GROUP, PLURAL, VERSION
from kubedrift.controller.operator_faults import STALE_WRITE_ANNOTATION, StaleWrites

STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"


class ApiError(Exception):
    """An API request failed; ``status`` is the HTTP status and ``reason`` the Status object's
    reason (409 is ``AlreadyExists`` on create, ``Conflict`` on a stale resourceVersion)."""

    def __init__(self, status: int, message: str, reason: str | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.reason = reason


#: Plans a patch from the object as read; ``None`` when nothing needs to change.
Plan = Callable[[Mapping[str, Any]], Mapping[str, Any] | None]


class KubeClient:
    """Async access to the handful of resources the operator reads and writes.

    ``on_conflict`` is called with the write path's name on every 409 Conflict (the metric);
    ``on_request`` with the HTTP method and :func:`resource_of` the path on every request;
    ``faults`` is the test-only fault hook (:mod:`kubedrift.controller.operator_faults`).
    """

    def __init__(
        self,
        configuration: Any,
        timeout: float = 30.0,
        *,
        on_conflict: Callable[[str], None] = lambda write: None,
        on_request: Callable[[str, str], None] = lambda method, resource: None,
        faults: StaleWrites | None = None,
    ) -> None:
        self._config = configuration
        self.on_conflict = on_conflict
        self.on_request = on_request
        self._faults = faults or StaleWrites()
        context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
        if configuration.cert_file:
            context.load_cert_chain(configuration.cert_file, configuration.key_file)
        if not configuration.verify_ssl:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        # Each open TLS connection holds a 256 KB read buffer (asyncio's SSL protocol); 16
        # connections serve 1000 monitors' 4 calls per 30 s round with room to spare.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context, limit=16),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )
        self.host = configuration.host.rstrip("/")

    @classmethod
    def from_environment(
        cls, kubeconfig: str | None = None, *, faults: StaleWrites | None = None
    ) -> KubeClient:
        """In-cluster credentials when running in a Pod without ``kubeconfig``, else kubeconfig."""
        configuration = kubernetes.client.Configuration()
        if kubeconfig is None and "KUBERNETES_SERVICE_HOST" in os.environ:
            kubernetes.config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, client_configuration=configuration
            )
        return cls(configuration, faults=faults)

    def token(self) -> str | None:
        """The ``Authorization`` header value, if the credentials use a token (refreshed)."""
        # kubernetes >= 36.0.1 keeps the token under "BearerToken", older under "authorization".
        value = self._config.get_api_key_with_prefix(
            "BearerToken"
        ) or self._config.get_api_key_with_prefix("authorization")
        return str(value) if value else None

    def connection_info(self) -> kopf.ConnectionInfo:
        """The same credentials for kopf's own API connection (its login handler)."""
        scheme, _, token = (self.token() or "").partition(" ")
        return kopf.ConnectionInfo(
            server=self.host,
            ca_path=self._config.ssl_ca_cert,
            insecure=not self._config.verify_ssl,
            certificate_path=self._config.cert_file,
            private_key_path=self._config.key_file,
            scheme=scheme or None,
            token=token or None,
        )

    async def close(self) -> None:
        await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
    ) -> Any:
        self.on_request(method, resource_of(path))
        headers = {"Accept": "application/json"}
        token = self.token()
        if token:
            headers["Authorization"] = token
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = json.dumps(body)
        async with self._session.request(
            method, self.host + path, data=data, headers=headers, params=params
        ) as response:
            text = await response.text()
            if response.status >= 300:
                try:
                    answer = json.loads(text)
                    message, reason = answer.get("message", text), answer.get("reason")
                except (ValueError, AttributeError):
                    message, reason = text, None
                raise ApiError(response.status, message, reason)
            return json.loads(text) if text else None

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The object at ``path``, or ``None`` when it does not exist."""
        try:
            return await self.request("GET", path, params=params)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    async def create(self, path: str, body: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create ``body`` in the collection ``path``; on 409 return the existing object.

        The flag says whether this call created it.
        """
        try:
            return await self.request("POST", path, body=body), True
        except ApiError as error:
            if error.status != 409 or error.reason not in ("AlreadyExists", None):
                raise
        existing = await self.get(f"{path}/{body['metadata']['name']}")
        if existing is None:
            raise ApiError(409, f"{body['metadata']['name']} exists but cannot be read")
        return existing, False

    async def delete(self, path: str) -> None:
        try:
            await self.request("DELETE", path, body={"propagationPolicy": "Background"})
        except ApiError as error:
            if error.status != 404:
                raise

    async def patch(self, path: str, patch: Any, content_type: str = STRATEGIC) -> Any:
        return await self.request("PATCH", path, body=patch, content_type=content_type)

    async def apply_config_map(self, body: Mapping[str, Any]) -> None:
        """Create the ConfigMap, or replace its data and labels when they differ."""
        metadata = body["metadata"]
        path = core(metadata["namespace"], "configmaps", metadata["name"])
        existing = await self.get(path)
        if existing is None:
            existing, fresh = await self.create(core(metadata["namespace"], "configmaps"), body)
            if fresh:
                return
        if existing.get("data") != body.get("data"):
            await self.patch(
                path, {"data": body["data"], "metadata": {"labels": metadata.get("labels")}}, MERGE
            )

    async def list_items(self, path: str, selector: str | None = None) -> list[dict[str, Any]]:
        params = {"labelSelector": selector} if selector else None
        answer = await self.request("GET", path, params=params)
        return list(answer.get("items") or [])

    async def update(
        self,
        path: str,
        plan: Plan,
        *,
        write: str,
        current: Mapping[str, Any] | None = None,
        content_type: str = STRATEGIC,
    ) -> Mapping[str, Any] | None:
        """Read-modify-write of the object at ``path`` with optimistic concurrency.

        ``plan`` computes the patch from the object as read (``current`` when the caller has
        just read it, else a GET); the patch goes out with that object's resourceVersion. On
        409 Conflict the object is read again and planned again (bounded; each conflict counted
        under ``write``). Returns the object as written (or as read when the plan was ``None``),
        ``None`` when it does not exist.
        """

        # A status subresource is read through its object (same body and resourceVersion): the
        # operator's role may patch a status but has no reason to read it separately.
        read_path = path.removesuffix("/status")

        async def attempt(number: int) -> Mapping[str, Any] | None:
            found = current if number == 0 and current is not None else await self.get(read_path)
            if found is None:
                return None
            patch = plan(found)
            if patch is None:
                return found
            if self._faults.take(write):
                await self._touch(read_path, write)
            version = found["metadata"]["resourceVersion"]
            try:
                written: Mapping[str, Any] = await self.patch(
                    path, with_resource_version(patch, version), content_type
                )
            except ApiError as error:
                if error.status == 409:
                    raise ConflictError(write, str(error)) from error
                raise
            return written

        return await retry_conflicts(attempt, on_conflict=lambda: self.on_conflict(write))

    async def write_monitor_status(
        self,
        body: Mapping[str, Any],
        status: Mapping[str, Any],
        *,
        base: Mapping[str, Any],
    ) -> None:
        """Write a monitor's ``status`` computed from its status ``base``, through the status
        subresource, only while the stored status is still ``base`` (other metadata or spec
        changes are fine: the write is retried from a fresh read). When another writer changed
        the status, :class:`~kubedrift.controller.conflicts.SupersededError` is raised and the
        next round recomputes from the new status.
        """
        metadata = body["metadata"]

        def plan(found: Mapping[str, Any]) -> Mapping[str, Any]:
            if dict(found.get("status") or {}) != dict(base):
                raise SupersededError("status", "the status changed since it was read")
            return {"status": status}

        path = monitor_path(metadata["namespace"], metadata["name"]) + "/status"
        await self.update(path, plan, write="status", current=body, content_type=MERGE)

    async def _touch(self, path: str, write: str) -> None:
        """The test fault: a blind change of the object, so the version just read is stale."""
        touch = {"metadata": {"annotations": {STALE_WRITE_ANNOTATION: uuid.uuid4().hex}}}
        await self.patch(path, touch, MERGE)


def resource_of(path: str) -> str:
    """The resource an API path names, with its subresource: ``pods``, ``modelmonitors/status``.

    >>> resource_of("/apis/apps/v1/namespaces/ml/deployments/fraud")
    'deployments'
    >>> resource_of("/apis/kubedrift.io/v1alpha1/namespaces/ml/modelmonitors/fraud/status")
    'modelmonitors/status'
    >>> resource_of("/api/v1/namespaces/ml/pods")
    'pods'
    """
    parts = path.split("?", 1)[0].strip("/").split("/")
    # /api/v1/... or /apis/group/version/...; then namespaces/NS/ for namespaced resources.
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    if len(rest) > 2 and rest[0] == "namespaces":
        rest = rest[2:]
    return "/".join(rest[:1] + rest[2:3])


def core(namespace: str, resource: str, name: str | None = None) -> str:
    path = f"/api/v1/namespaces/{namespace}/{resource}"
    return f"{path}/{name}" if name else path


def apps(namespace: str, resource: str, name: str | None = None) -> str:
    path = f"/apis/apps/v1/namespaces/{namespace}/{resource}"
    return f"{path}/{name}" if name else path


def batch(namespace: str, resource: str, name: str | None = None) -> str:
    path = f"/apis/batch/v1/namespaces/{namespace}/{resource}"
    return f"{path}/{name}" if name else path


def monitor_path(namespace: str, name: str) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/{name}"
