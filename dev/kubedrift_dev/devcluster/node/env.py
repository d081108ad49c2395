"""A container's environment, resolved the way the kubelet does it (pure functions).

Order: ``envFrom`` sources first, then ``env`` entries (later entries win). ``value`` strings
expand ``$(VAR)`` references to variables defined earlier (``$$`` escapes); ``valueFrom``
supports ``fieldRef`` (the downward API paths below), ``configMapKeyRef``, ``secretKeyRef`` and
``resourceFieldRef`` on limits/requests. A missing ConfigMap, Secret or key that is not
``optional`` raises :class:`EnvError`, which the stand-in reports as the container's
``CreateContainerConfigError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_LABEL_OR_ANNOTATION = re.compile(r"metadata\.(labels|annotations)\['([^']+)'\]")


class EnvError(Exception):
    """The environment cannot be built (yet): a referenced object or key is missing."""


class Objects(Protocol):
    """Reads the ConfigMaps and Secrets a Pod refers to (None when absent)."""

    def config_map(self, namespace: str, name: str) -> Mapping[str, bytes] | None:
        """The ConfigMap's ``data`` (UTF-8 encoded) and ``binaryData`` (decoded)."""
        ...

    def secret(self, namespace: str, name: str) -> Mapping[str, bytes] | None:
        """The Secret's ``data``, base64-decoded."""
        ...


@dataclass(frozen=True)
class PodContext:
    """What the downward API can tell about the Pod and where it runs."""

    pod: Mapping[str, Any]
    pod_ip: str
    host_ip: str = "127.0.0.1"


def expand(text: str, variables: Mapping[str, str]) -> str:
    """Expand ``$(NAME)`` from ``variables``; unknown references stay, ``$$`` gives ``$``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return variables.get(name, match.group(0))

    return _REFERENCE.sub(replace, text)


def field_value(path: str, context: PodContext) -> str:
    """The value of a downward API ``fieldRef.fieldPath``."""
    pod = context.pod
    metadata = pod.get("metadata", {})
    spec = pod.get("spec", {})
    simple = {
        "metadata.name": metadata.get("name", ""),
        "metadata.namespace": metadata.get("namespace", ""),
        "metadata.uid": metadata.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.podIP": context.pod_ip,
        "status.podIPs": context.pod_ip,
        "status.hostIP": context.host_ip,
        "status.hostIPs": context.host_ip,
    }
    if path in simple:
        return str(simple[path])
    match = _LABEL_OR_ANNOTATION.fullmatch(path)
    if match:
        return str((metadata.get(match.group(1)) or {}).get(match.group(2), ""))
    if path in ("metadata.labels", "metadata.annotations"):
        items = sorted((metadata.get(path.split(".")[1]) or {}).items())
        return "\n".join(f'{key}="{value}"' for key, value in items)
    raise EnvError(f"unsupported fieldRef fieldPath {path!r}")


def resolve_env(
    container: Mapping[str, Any],
    context: PodContext,
    objects: Objects,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The container's environment on top of ``base`` (the stand-in's defaults)."""
    namespace = context.pod.get("metadata", {}).get("namespace", "default")
    env: dict[str, str] = dict(base or {})
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            ref = source["configMapRef"]
            data = objects.config_map(namespace, ref["name"])
            kind = "configmap"
        else:
            ref = source["secretRef"]
            data = objects.secret(namespace, ref["name"])
            kind = "secret"
        if data is None:
            if ref.get("optional"):
                continue
            raise EnvError(f'{kind} "{ref["name"]}" not found')
        env.update({prefix + key: _text(value) for key, value in data.items()})
    for entry in container.get("env") or []:
        value = _entry_value(
            entry,
            container=container,
            context=context,
            objects=objects,
            namespace=namespace,
            env=env,
        )
        if value is not None:
            env[entry["name"]] = value
    return env


def _entry_value(
    entry: Mapping[str, Any],
    *,
    container: Mapping[str, Any],
    context: PodContext,
    objects: Objects,
    namespace: str,
    env: Mapping[str, str],
) -> str | None:
    if "valueFrom" not in entry:
        return expand(entry.get("value", ""), env)
    source = entry["valueFrom"]
    if "fieldRef" in source:
        return field_value(source["fieldRef"]["fieldPath"], context)
    if "resourceFieldRef" in source:
        return _resource_value(source["resourceFieldRef"], container)
    if "configMapKeyRef" in source:
        ref, kind = source["configMapKeyRef"], "configmap"
        data = objects.config_map(namespace, ref["name"])
    elif "secretKeyRef" in source:
        ref, kind = source["secretKeyRef"], "secret"
        data = objects.secret(namespace, ref["name"])
    else:
        raise EnvError(f"unsupported valueFrom for {entry['name']}: {sorted(source)}")
    if data is not None and ref["key"] in data:
        return _text(data[ref["key"]])
    if ref.get("optional"):
        return None
    if data is None:
        raise EnvError(f'{kind} "{ref["name"]}" not found')
    raise EnvError(f"couldn't find key {ref['key']} in {kind} {namespace}/{ref['name']}")


def _resource_value(ref: Mapping[str, Any], container: Mapping[str, Any]) -> str:
    kind, _, resource = ref["resource"].partition(".")
    value = (container.get("resources", {}).get(kind) or {}).get(resource)
    if value is None or "divisor" in ref:
        # The kubelet would fall back to the node's allocatable and apply the divisor.
        raise EnvError(
            f"resourceFieldRef {ref['resource']} needs a value set in the container's "
            "resources and no divisor on this node stand-in"
        )
    return str(value)


def _text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")
