"""Volume planning: which files each volume holds and where each container mounts it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from kubedrift_dev.devcluster.node.env import PodContext
from kubedrift_dev.devcluster.node.volumes import (
    FileEntry,
    Mount,
    VolumeContent,
    VolumeError,
    container_mounts,
    plan_volume,
)

POD: dict[str, Any] = {"metadata": {"name": "p", "namespace": "ns", "uid": "u-9"},
                       "spec": {"serviceAccountName": "runner"}}  # fmt: skip
CONTEXT = PodContext(POD, pod_ip="127.0.1.2")


class InMemorySources:
    """ConfigMaps, Secrets and tokens from dicts, standing in for API reads; records token
    requests."""

    def __init__(self) -> None:
        self.config_maps = {"ns/settings": {"a": b"1", "b": b"2"},
                            "ns/kube-root-ca.crt": {"ca.crt": b"PEM"}}  # fmt: skip
        self.secrets = {"ns/creds": {"password": b"s3cret"}}
        self.token_requests: list[tuple[str, str | None, int]] = []

    def config_map(self, namespace: str, name: str) -> Mapping[str, bytes] | None:
        return self.config_maps.get(f"{namespace}/{name}")

    def secret(self, namespace: str, name: str) -> Mapping[str, bytes] | None:
        return self.secrets.get(f"{namespace}/{name}")

    def token(self, pod: Mapping[str, Any], audience: str | None, expiration_seconds: int) -> str:
        self.token_requests.append((pod["metadata"]["name"], audience, expiration_seconds))
        return "jwt-for-" + str(pod["spec"]["serviceAccountName"])


def test_config_map_volume_holds_every_key_with_the_default_mode() -> None:
    content = plan_volume({"name": "cfg", "configMap": {"name": "settings"}}, CONTEXT,
                          InMemorySources())  # fmt: skip
    assert content == VolumeContent("cfg", "files", (
        FileEntry("a", b"1", 0o644), FileEntry("b", b"2", 0o644)))  # fmt: skip


def test_items_select_keys_rename_them_and_modes_override_the_default() -> None:
    volume = {"name": "cfg", "configMap": {"name": "settings", "defaultMode": 0o600, "items": [
        {"key": "b", "path": "sub/bee"}, {"key": "a", "path": "ay", "mode": 0o400}]}}  # fmt: skip
    content = plan_volume(volume, CONTEXT, InMemorySources())
    assert content.files == (FileEntry("sub/bee", b"2", 0o600), FileEntry("ay", b"1", 0o400))


def test_secret_volume_holds_decoded_data() -> None:
    content = plan_volume({"name": "s", "secret": {"secretName": "creds"}}, CONTEXT,
                          InMemorySources())  # fmt: skip
    assert content.files == (FileEntry("password", b"s3cret", 0o644),)


def test_missing_config_map_fails_unless_optional() -> None:
    volume: dict[str, Any] = {"name": "cfg", "configMap": {"name": "absent"}}
    with pytest.raises(VolumeError, match='configmap "absent" not found'):
        plan_volume(volume, CONTEXT, InMemorySources())
    volume["configMap"]["optional"] = True
    assert plan_volume(volume, CONTEXT, InMemorySources()).files == ()


def test_projected_service_account_volume_has_token_ca_and_namespace() -> None:
    sources = InMemorySources()
    volume = {"name": "kube-api-access", "projected": {"defaultMode": 0o644, "sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
    ]}}  # fmt: skip

    content = plan_volume(volume, CONTEXT, sources)

    assert content.files == (
        FileEntry("token", b"jwt-for-runner", 0o644),
        FileEntry("ca.crt", b"PEM", 0o644),
        FileEntry("namespace", b"ns", 0o644),
    )
    assert sources.token_requests == [("p", None, 3607)]


def test_empty_dir_and_host_path_have_no_files() -> None:
    sources = InMemorySources()
    assert plan_volume({"name": "e", "emptyDir": {}}, CONTEXT, sources) == VolumeContent(
        "e", "emptyDir"
    )
    assert plan_volume({"name": "h", "hostPath": {"path": "/srv"}}, CONTEXT, sources) == (
        VolumeContent("h", "hostPath", host_path="/srv")
    )


def test_unsupported_volume_type_is_named() -> None:
    with pytest.raises(VolumeError, match="persistentVolumeClaim"):
        plan_volume({"name": "v", "persistentVolumeClaim": {"claimName": "c"}}, CONTEXT,
                    InMemorySources())  # fmt: skip


def test_container_mounts_put_parents_before_children_and_resolve_sources(tmp_path: Path) -> None:
    container = {"volumeMounts": [
        {"name": "cfg", "mountPath": "/data/config", "readOnly": True},
        {"name": "data", "mountPath": "/data"},
        {"name": "host", "mountPath": "/srv/x", "subPath": "inner"},
    ]}  # fmt: skip

    mounts = container_mounts(container, tmp_path, {"host": "/srv"})

    assert mounts == [
        Mount(tmp_path / "data", "/data"),
        Mount(tmp_path / "cfg", "/data/config", read_only=True),
        Mount(Path("/srv/inner"), "/srv/x"),
    ]


@pytest.mark.parametrize("sub_path", ["../escape", "/absolute"])
def test_sub_paths_leaving_the_volume_are_refused(tmp_path: Path, sub_path: str) -> None:
    container = {"volumeMounts": [{"name": "v", "mountPath": "/m", "subPath": sub_path}]}
    with pytest.raises(VolumeError, match="invalid subPath"):
        container_mounts(container, tmp_path, {})
