"""KServe's own pieces for the InferenceService tests: the logger agent (``cmd/agent`` of the
KServe Go module) and the InferenceService CRD from the same module, both produced by
``tests/kserve_agent/build.sh`` (built from the Go module proxy, cached under
``~/.cache/kubedrift/kserve/``).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "tests" / "kserve_agent" / "build.sh"
#: A cold build (empty Go module and build caches) on the shared 2-core machine took 750 s;
#: the bound only ends a hung build.
BUILD_TIMEOUT = 3600.0
ESTABLISH_TIMEOUT = 60.0
CRD_NAME = "inferenceservices.serving.kserve.io"


@dataclass(frozen=True)
class KServeBuild:
    """The agent binary, the InferenceService CRD and the KServe version they come from."""

    agent: Path
    crd: Path
    version: str


def build_kserve() -> KServeBuild:
    """Run ``build.sh`` (a no-op once cached) and answer what it produced."""
    try:
        done = subprocess.run(
            ["bash", str(BUILD)], check=True, capture_output=True, text=True, timeout=BUILD_TIMEOUT
        )
    except subprocess.CalledProcessError as error:
        pytest.fail(f"{BUILD} failed:\n{error.stderr[-4000:]}")
    out = Path(done.stdout.strip().splitlines()[-1])
    return KServeBuild(
        out / "agent", out / "inferenceservices.yaml", (out / "version").read_text().strip()
    )


def install_inference_service_crd(api_client: Any, path: Path) -> None:
    """Create KServe's InferenceService CRD (kept when it exists) and wait until it is served."""
    from kubernetes import client  # noqa: PLC0415

    extensions = client.ApiextensionsV1Api(api_client)
    body = yaml.safe_load(path.read_text())
    try:
        extensions.create_custom_resource_definition(body)
    except client.ApiException as error:
        if error.status != 409:
            raise
    custom = client.CustomObjectsApi(api_client)
    deadline = time.monotonic() + ESTABLISH_TIMEOUT
    while True:
        found = extensions.read_custom_resource_definition(CRD_NAME)
        conditions = (found.status.conditions if found.status else None) or []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            try:
                custom.list_cluster_custom_object(
                    "serving.kserve.io", "v1beta1", "inferenceservices", limit=1
                )
                return
            except client.ApiException as error:
                if error.status != 404:
                    raise
        if time.monotonic() > deadline:
            pytest.fail(f"CRD {CRD_NAME} was not Established and served within 60s")
        time.sleep(0.2)
