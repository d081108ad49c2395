"""Every manifest in examples/ is accepted by the real API server and parsed by parse_spec,
and what the server stores (with its schema defaults) parses to the same typed spec."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubedrift.api import crd
from kubedrift.api.spec import parse_spec

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.yaml"))


def test_there_are_at_least_three_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_is_accepted_and_round_trips(
    path: Path, cluster: Any, modelmonitor_crd: str, api_namespace: str
) -> None:
    from kubernetes import client  # noqa: PLC0415

    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    local = parse_spec(manifest["spec"])
    body = copy.deepcopy(manifest)
    body["metadata"]["namespace"] = api_namespace
    custom = client.CustomObjectsApi(cluster.api_client())

    # Server-side apply; the client only deserializes a 200 (not the 201 of a create), so the
    # stored object is read back.
    custom.patch_namespaced_custom_object(
        crd.GROUP,
        crd.VERSION,
        api_namespace,
        crd.PLURAL,
        body["metadata"]["name"],
        body,
        field_manager="kubedrift-tests",
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    stored = custom.get_namespaced_custom_object(
        crd.GROUP, crd.VERSION, api_namespace, crd.PLURAL, body["metadata"]["name"]
    )

    assert parse_spec(stored["spec"]) == local
