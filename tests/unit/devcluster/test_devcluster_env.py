"""Environment resolution follows the kubelet: envFrom first, env entries in order, $(VAR)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from kubedrift_dev.devcluster.node.env import EnvError, PodContext, expand, field_value, resolve_env

POD: dict[str, Any] = {
    "metadata": {"name": "web-1", "namespace": "shop", "uid": "u-1",
                 "labels": {"app": "web"}, "annotations": {"team": "ml"}},
    "spec": {"nodeName": "kubedrift-node", "serviceAccountName": "runner"},
}  # fmt: skip
CONTEXT = PodContext(POD, pod_ip="127.0.1.7")


class InMemoryObjects:
    """ConfigMaps and Secrets held in dicts, standing in for API reads."""

    def __init__(self, config_maps: Mapping[str, Mapping[str, bytes]],
                 secrets: Mapping[str, Mapping[str, bytes]]) -> None:  # fmt: skip
        self.config_maps, self.secrets = config_maps, secrets

    def config_map(self, namespace: str, name: str) -> Mapping[str, bytes] | None:
        return self.config_maps.get(f"{namespace}/{name}")

    def secret(self, namespace: str, name: str) -> Mapping[str, bytes] | None:
        return self.secrets.get(f"{namespace}/{name}")


OBJECTS = InMemoryObjects(
    {"shop/settings": {"GREETING": b"hello", "LEVEL": b"3"}},
    {"shop/credentials": {"password": b"s3cret"}},
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(A)-$(B)", "1-2"),
        ("$(MISSING)", "$(MISSING)"),
        ("$$(A)", "$(A)"),
        ("cost: $$5", "cost: $5"),
        ("plain", "plain"),
    ],
)
def test_expand_replaces_known_references_and_keeps_the_rest(text: str, expected: str) -> None:
    assert expand(text, {"A": "1", "B": "2"}) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("metadata.name", "web-1"),
        ("metadata.namespace", "shop"),
        ("metadata.uid", "u-1"),
        ("spec.nodeName", "kubedrift-node"),
        ("spec.serviceAccountName", "runner"),
        ("status.podIP", "127.0.1.7"),
        ("status.hostIP", "127.0.0.1"),
        ("metadata.labels['app']", "web"),
        ("metadata.annotations['team']", "ml"),
        ("metadata.labels", 'app="web"'),
    ],
)
def test_field_value_reads_the_downward_api_paths(path: str, expected: str) -> None:
    assert field_value(path, CONTEXT) == expected


def test_unsupported_field_path_is_an_env_error() -> None:
    with pytest.raises(EnvError, match=r"status\.phase"):
        field_value("status.phase", CONTEXT)


def test_env_from_comes_first_and_env_entries_override_it_in_order() -> None:
    container = {
        "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CFG_"},
                    {"secretRef": {"name": "credentials"}}],
        "env": [
            {"name": "CFG_LEVEL", "value": "override"},
            {"name": "URL", "value": "http://$(MY_IP):8000/$(CFG_GREETING)"},
            {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "LATE", "value": "$(MY_IP)"},
        ],
    }  # fmt: skip

    env = resolve_env(container, CONTEXT, OBJECTS, base={"PATH": "/bin", "CFG_LEVEL": "base"})

    assert env == {
        "PATH": "/bin",
        "CFG_GREETING": "hello",
        "CFG_LEVEL": "override",
        "password": "s3cret",
        "URL": "http://$(MY_IP):8000/hello",  # MY_IP is defined only after URL
        "MY_IP": "127.0.1.7",
        "LATE": "127.0.1.7",
    }


def test_key_refs_read_config_maps_and_secrets_of_the_pods_namespace() -> None:
    container = {"env": [
        {"name": "G", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "GREETING"}}},
        {"name": "P", "valueFrom": {"secretKeyRef": {"name": "credentials", "key": "password"}}},
    ]}  # fmt: skip
    assert resolve_env(container, CONTEXT, OBJECTS) == {"G": "hello", "P": "s3cret"}


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ({"configMapKeyRef": {"name": "absent", "key": "k"}}, 'configmap "absent" not found'),
        ({"configMapKeyRef": {"name": "settings", "key": "nope"}}, "couldn't find key nope"),
        ({"secretKeyRef": {"name": "absent", "key": "k"}}, 'secret "absent" not found'),
    ],
)
def test_missing_required_reference_is_a_config_error(ref: dict[str, Any], message: str) -> None:
    with pytest.raises(EnvError, match=message):
        resolve_env({"env": [{"name": "X", "valueFrom": ref}]}, CONTEXT, OBJECTS)


def test_missing_optional_references_leave_the_variable_unset() -> None:
    container = {
        "envFrom": [{"configMapRef": {"name": "absent", "optional": True}}],
        "env": [{"name": "X", "valueFrom": {"secretKeyRef": {
            "name": "credentials", "key": "nope", "optional": True}}}],
    }  # fmt: skip
    assert resolve_env(container, CONTEXT, OBJECTS) == {}


def test_resource_field_ref_gives_the_limit_as_written() -> None:
    container = {
        "resources": {"limits": {"cpu": "500m"}},
        "env": [{"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}],
    }
    assert resolve_env(container, CONTEXT, OBJECTS) == {"CPU": "500m"}
