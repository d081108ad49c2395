"""The ModelMonitor CRD, installed into a test cluster: applied with server-side apply (the CRD
generated from ``kubedrift.api``) and waited on until the API server reports it Established and
serves the resource. Used by the session's ``modelmonitor_crd`` fixture and by tests that run a
control plane of their own.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from kubedrift.api import crd

FIELD_MANAGER = "kubedrift-tests"
ESTABLISH_TIMEOUT_SECONDS = 60.0


def _established(body: Any) -> bool:
    conditions = (body.status.conditions if body.status else None) or []
    return any(c.type == "Established" and c.status == "True" for c in conditions)


def install_crd(api_client: Any) -> str:
    """Apply the CRD through ``api_client`` (a ``kubernetes.client.ApiClient``), wait until it is
    served and answer its name."""
    from kubernetes import client  # noqa: PLC0415 - keep unit-only runs light

    extensions = client.ApiextensionsV1Api(api_client)
    extensions.patch_custom_resource_definition(
        crd.NAME,
        crd.crd(),
        field_manager=FIELD_MANAGER,
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    custom = client.CustomObjectsApi(api_client)
    deadline = time.monotonic() + ESTABLISH_TIMEOUT_SECONDS
    while True:
        if _established(extensions.read_custom_resource_definition(crd.NAME)):
            try:
                custom.list_cluster_custom_object(crd.GROUP, crd.VERSION, crd.PLURAL, limit=1)
                return crd.NAME
            except client.ApiException as error:
                if error.status != 404:
                    raise
        if time.monotonic() > deadline:
            pytest.fail(f"CRD {crd.NAME} was not Established and served within 60s")
        time.sleep(0.2)
