"""The API calls the node stand-in makes about Pods: the objects they refer to, ServiceAccount
tokens, status patches and the final deletion."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from kubedrift_dev.devcluster.node.rest import MERGE_PATCH, ApiError, Rest


class PodApi:
    """ConfigMaps, Secrets, tokens and Services for volumes and env (the
    :class:`~.runtime.NodeSources` protocol), plus writing a Pod's status and removing it once
    its processes are gone."""

    def __init__(self, rest: Rest) -> None:
        self.rest = rest

    def config_map(self, namespace: str, name: str) -> Mapping[str, bytes] | None:
        found = self._get(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
        if found is None:
            return None
        data = {key: value.encode() for key, value in (found.get("data") or {}).items()}
        for key, value in (found.get("binaryData") or {}).items():
            data[key] = base64.b64decode(value)
        return data

    def secret(self, namespace: str, name: str) -> Mapping[str, bytes] | None:
        found = self._get(f"/api/v1/namespaces/{namespace}/secrets/{name}")
        if found is None:
            return None
        return {key: base64.b64decode(value) for key, value in (found.get("data") or {}).items()}

    def services(self, namespace: str) -> list[dict[str, Any]]:
        """The Services of ``namespace`` (for Service links and /etc/hosts)."""
        items: list[dict[str, Any]] = (
            self.rest.get(f"/api/v1/namespaces/{namespace}/services").get("items") or []
        )
        return items

    def token(self, pod: Mapping[str, Any], audience: str | None, expiration_seconds: int) -> str:
        """A token for the Pod's ServiceAccount, bound to the Pod (the TokenRequest API)."""
        metadata = pod["metadata"]
        account = pod.get("spec", {}).get("serviceAccountName") or "default"
        request = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {
                "audiences": [audience] if audience else [],
                "expirationSeconds": expiration_seconds,
                "boundObjectRef": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "name": metadata["name"],
                    "uid": metadata["uid"],
                },
            },
        }
        answer = self.rest.request(
            "POST",
            f"/api/v1/namespaces/{metadata['namespace']}/serviceaccounts/{account}/token",
            body=request,
        )
        token: str = answer["status"]["token"]
        return token

    def patch_status(self, pod: Mapping[str, Any], status: Mapping[str, Any]) -> None:
        """Merge-patch ``status`` (no resourceVersion: the stand-in owns these fields, so there
        is nothing to conflict with)."""
        metadata = pod["metadata"]
        self.rest.request(
            "PATCH",
            f"/api/v1/namespaces/{metadata['namespace']}/pods/{metadata['name']}/status",
            body={"metadata": {"uid": metadata["uid"]}, "status": status},
            content_type=MERGE_PATCH,
        )

    def delete_now(self, pod: Mapping[str, Any]) -> None:
        """The kubelet's final delete (grace period 0) once the Pod's processes are gone."""
        metadata = pod["metadata"]
        try:
            self.rest.request(
                "DELETE",
                f"/api/v1/namespaces/{metadata['namespace']}/pods/{metadata['name']}",
                body={"gracePeriodSeconds": 0, "preconditions": {"uid": metadata["uid"]}},
            )
        except ApiError as error:
            if error.status not in (404, 409):
                raise

    def _get(self, path: str) -> dict[str, Any] | None:
        try:
            return self.rest.get(path)
        except ApiError as error:
            if error.status == 404:
                return None
            raise
