"""The only module that talks to the Kubernetes API: a small async JSON client.

Objects go in and out as plain dicts in their wire shape (camelCase), which is what the pure
builders produce and consume. Credentials come from the kubeconfig or the in-cluster service
account, loaded by the ``kubernetes`` package; requests go through one ``aiohttp`` session.
``get`` returns ``None`` for 404; other failures raise :class:`ApiError` with the status.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp
import kopf
import kubernetes

from kubedrift.controller.names import GROUP, PLURAL, VERSION

STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"


class ApiError(Exception):
    """An API request failed; ``status`` is the HTTP status (409 for AlreadyExists...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class KubeClient:
    """Async access to the handful of resources the operator reads and writes."""

    def __init__(self, configuration: Any, timeout: float = 30.0) -> None:
        self._config = configuration
        context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
        if configuration.cert_file:
            context.load_cert_chain(configuration.cert_file, configuration.key_file)
        if not configuration.verify_ssl:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context, limit=64),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )
        self.host = configuration.host.rstrip("/")

    @classmethod
    def from_environment(cls, kubeconfig: str | None = None) -> KubeClient:
        """In-cluster credentials when running in a Pod without ``kubeconfig``, else kubeconfig."""
        configuration = kubernetes.client.Configuration()
        if kubeconfig is None and "KUBERNETES_SERVICE_HOST" in os.environ:
            kubernetes.config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, client_configuration=configuration
            )
        return cls(configuration)

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
                    message = json.loads(text).get("message", text)
                except ValueError:
                    message = text
                raise ApiError(response.status, message)
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
            if error.status != 409:
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

    async def patch_monitor_status(self, namespace: str, name: str, status: Any) -> None:
        await self.patch(monitor_path(namespace, name) + "/status", {"status": status}, MERGE)


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
