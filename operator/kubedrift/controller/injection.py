"""What the operator adds to (and removes from) the target Deployment and Service: pure plans.

:func:`plan_injection` compares the Deployment as it is with what the monitor needs and returns a
strategic merge patch, or ``None`` when nothing is missing. Containers and volumes merge by
``name`` in a strategic merge patch, so applying the plan twice (two handlers racing, a restart)
can never add the sidecar twice; a changed monitor updates the sidecar container in place.
:func:`plan_removal` undoes it with ``$patch: delete`` directives.

In proxy mode with ``spec.target.service`` set, :func:`plan_service_takeover` points that Service's
matching ports at the sidecar and remembers the old target ports in an annotation, which
:func:`plan_service_restore` reads to put them back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller.names import (
    CONFIG_HASH_ANNOTATION,
    CONFIG_MOUNT_PATH,
    CONFIG_VOLUME,
    MEMBERS_ANNOTATION,
    MODEL_VERSION_ANNOTATION,
    MONITOR_ANNOTATION,
    MONITOR_LABEL,
    ORIGINAL_TARGET_PORTS_ANNOTATION,
    SIDECAR_CONTAINER,
    SIDECAR_MODEL_VERSION_ENV,
    SIDECAR_TOKEN_KEY,
    MonitorRef,
)
from kubedrift.controller.sidecar_config import CONFIG_FILE, TOKEN_ENV

DEFAULT_RESOURCES: dict[str, dict[str, str]] = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"memory": "256Mi"},
}
#: Restricted Pod Security Standard for the sidecar: it needs no privilege at all.
RESTRICTED_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
#: The sidecar runs as this user when the image sets none (nobody).
SIDECAR_USER = 65534


class InjectionError(Exception):
    """The Deployment cannot take the sidecar as asked (the message says why)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SidecarOptions:
    """Operator-wide settings of the injected container (from ``kubedrift operator`` flags)."""

    image: str
    pull_policy: str = "IfNotPresent"
    resources: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: DEFAULT_RESOURCES)


def build_sidecar_container(
    spec: ModelMonitorSpec, monitor: MonitorRef, options: SidecarOptions
) -> dict[str, Any]:
    """The sidecar container for ``spec``.

    It binds the Pod IP (from the downward API) because each Pod may have its own address; the
    ``$(POD_IP)`` references in ``args`` are expanded by the kubelet. Its config file and baseline
    come from the rendered ConfigMap mounted read-only; its admin token from the monitor's Secret.
    """
    capture = spec.capture
    args = [
        "--config",
        f"{CONFIG_MOUNT_PATH}/{CONFIG_FILE}",
        "--listen",
        f"$(POD_IP):{capture.listen_port}",
        "--admin",
        f"$(POD_IP):{capture.admin_port}",
    ]
    if capture.mode == "proxy":
        args += ["--upstream", f"http://$(POD_IP):{spec.target.port}"]
    return {
        "name": SIDECAR_CONTAINER,
        "image": options.image,
        "imagePullPolicy": options.pull_policy,
        "command": ["kubedrift", "sidecar"],
        "args": args,
        "env": [
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {  # the version the Pod serves, set with the rollout that loads it (one roll);
                # tokens last, as a shared sidecar's (controller/sharing.py) appends its members'
                "name": SIDECAR_MODEL_VERSION_ENV,
                "valueFrom": {
                    "fieldRef": {"fieldPath": f"metadata.annotations['{MODEL_VERSION_ANNOTATION}']"}
                },
            },
            {
                "name": TOKEN_ENV,
                "valueFrom": {
                    "secretKeyRef": {"name": monitor.token_secret, "key": SIDECAR_TOKEN_KEY}
                },
            },
        ],
        "ports": [
            {"name": "kd-traffic", "containerPort": capture.listen_port, "protocol": "TCP"},
            {"name": "kd-admin", "containerPort": capture.admin_port, "protocol": "TCP"},
        ],
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": capture.admin_port},
            "periodSeconds": 5,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": capture.admin_port},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "resources": {kind: dict(values) for kind, values in options.resources.items()},
        "securityContext": {**RESTRICTED_SECURITY_CONTEXT, "runAsUser": SIDECAR_USER},
        "volumeMounts": [{"name": CONFIG_VOLUME, "mountPath": CONFIG_MOUNT_PATH, "readOnly": True}],
    }


def target_container(deployment: Mapping[str, Any], spec: ModelMonitorSpec) -> dict[str, Any]:
    """The model's container in the Deployment (``spec.target.container`` or the first one)."""
    containers = [
        c
        for c in pod_spec(deployment).get("containers") or []
        if c.get("name") != SIDECAR_CONTAINER
    ]
    wanted = spec.target.container
    for container in containers:
        if wanted is None or container.get("name") == wanted:
            return dict(container)
    raise InjectionError(
        "ContainerNotFound",
        f"Deployment {workload_name(deployment)} has no container {wanted!r}"
        if wanted
        else f"Deployment {workload_name(deployment)} has no container",
    )


def plan_injection(
    deployment: Mapping[str, Any],
    spec: ModelMonitorSpec,
    monitor: MonitorRef,
    options: SidecarOptions,
    config_hash: str,
) -> dict[str, Any] | None:
    """A strategic merge patch that injects or updates the sidecar; ``None`` when up to date.

    Raises :class:`InjectionError` when another monitor already injected this Deployment, the
    target container is missing, or a sidecar port is taken by another container.
    """
    annotations = deployment.get("metadata", {}).get("annotations") or {}
    owner = annotations.get(MONITOR_ANNOTATION)
    sharing = json.loads(annotations.get(MEMBERS_ANNOTATION) or "{}")
    others = sorted(set(sharing) - {monitor.name}) if isinstance(sharing, dict) else []
    if others:
        raise InjectionError(
            "TargetAlreadyMonitored",
            f"Deployment {workload_name(deployment)} is already monitored by ModelMonitor "
            f"{', '.join(others)} for one model each; set spec.target.model to share its sidecar",
        )
    if owner not in (None, monitor.name):
        raise InjectionError(
            "TargetAlreadyMonitored",
            f"Deployment {workload_name(deployment)} is already monitored by ModelMonitor {owner}",
        )
    target_container(deployment, spec)
    check_ports(deployment, spec)
    sidecar = build_sidecar_container(spec, monitor, options)
    volume = {"name": CONFIG_VOLUME, "configMap": {"name": monitor.sidecar_config_map}}
    template = deployment.get("spec", {}).get("template", {})
    current_hash = (template.get("metadata", {}).get("annotations") or {}).get(
        CONFIG_HASH_ANNOTATION
    )
    pod_labels = template.get("metadata", {}).get("labels") or {}
    current_spec = pod_spec(deployment)
    if (
        owner == monitor.name
        and current_hash == config_hash
        and pod_labels.get(MONITOR_LABEL) == monitor.name
        and covers(named(current_spec.get("containers"), SIDECAR_CONTAINER), sidecar)
        and covers(named(current_spec.get("volumes"), CONFIG_VOLUME), volume)
    ):
        return None
    return {
        "metadata": {"annotations": {MONITOR_ANNOTATION: monitor.name}},
        "spec": {
            "template": {
                "metadata": {
                    "labels": {MONITOR_LABEL: monitor.name},
                    "annotations": {CONFIG_HASH_ANNOTATION: config_hash},
                },
                "spec": {"containers": [sidecar], "volumes": [volume]},
            }
        },
    }


def plan_removal(deployment: Mapping[str, Any], monitor: MonitorRef) -> dict[str, Any] | None:
    """A strategic merge patch removing everything :func:`plan_injection` added, or ``None``.

    A Deployment injected by another monitor is left alone.
    """
    annotations = deployment.get("metadata", {}).get("annotations") or {}
    if annotations.get(MONITOR_ANNOTATION) not in (None, monitor.name):
        return None
    current_spec = pod_spec(deployment)
    template_metadata = deployment.get("spec", {}).get("template", {}).get("metadata", {})
    template_annotations = template_metadata.get("annotations") or {}
    labelled = MONITOR_LABEL in (template_metadata.get("labels") or {})
    has_sidecar = named(current_spec.get("containers"), SIDECAR_CONTAINER) is not None
    has_volume = named(current_spec.get("volumes"), CONFIG_VOLUME) is not None
    if not (
        has_sidecar
        or has_volume
        or MONITOR_ANNOTATION in annotations
        or CONFIG_HASH_ANNOTATION in template_annotations
        or labelled
    ):
        return None
    template_spec: dict[str, Any] = {}
    if has_sidecar:
        template_spec["containers"] = [{"name": SIDECAR_CONTAINER, "$patch": "delete"}]
    if has_volume:
        template_spec["volumes"] = [{"name": CONFIG_VOLUME, "$patch": "delete"}]
    return {
        "metadata": {"annotations": {MONITOR_ANNOTATION: None}},
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {CONFIG_HASH_ANNOTATION: None},
                    **({"labels": {MONITOR_LABEL: None}} if labelled else {}),
                },
                "spec": template_spec,
            }
        },
    }


def plan_service_takeover(
    service: Mapping[str, Any], spec: ModelMonitorSpec
) -> dict[str, Any] | None:
    """A patch pointing the Service's model ports at the sidecar; ``None`` when already done.

    The ports taken over are ``spec.target.servicePort`` or every port whose ``targetPort`` is
    the model's port. The original target ports are kept in an annotation for the restore.
    """
    listen = spec.capture.listen_port
    annotations = service.get("metadata", {}).get("annotations") or {}
    remembered: dict[str, Any] = json.loads(annotations.get(ORIGINAL_TARGET_PORTS_ANNOTATION, "{}"))
    changes = []
    for port in service.get("spec", {}).get("ports") or []:
        selected = (
            port.get("port") == spec.target.service_port
            if spec.target.service_port is not None
            else port.get("targetPort", port.get("port")) == spec.target.port
        )
        if selected and port.get("targetPort") != listen:
            remembered[str(port["port"])] = port.get("targetPort", port["port"])
            changes.append({"port": port["port"], "targetPort": listen})
    if not changes:
        return None
    return {
        "metadata": {
            "annotations": {
                ORIGINAL_TARGET_PORTS_ANNOTATION: json.dumps(remembered, sort_keys=True)
            }
        },
        "spec": {"ports": changes},
    }


def plan_service_restore(service: Mapping[str, Any]) -> dict[str, Any] | None:
    """A patch restoring the target ports :func:`plan_service_takeover` replaced, or ``None``."""
    annotations = service.get("metadata", {}).get("annotations") or {}
    if ORIGINAL_TARGET_PORTS_ANNOTATION not in annotations:
        return None
    remembered = json.loads(annotations[ORIGINAL_TARGET_PORTS_ANNOTATION])
    ports = [{"port": int(port), "targetPort": target} for port, target in remembered.items()]
    return {
        "metadata": {"annotations": {ORIGINAL_TARGET_PORTS_ANNOTATION: None}},
        "spec": {"ports": sorted(ports, key=lambda p: p["port"])},
    }


def check_ports(deployment: Mapping[str, Any], spec: ModelMonitorSpec) -> None:
    ours = {spec.capture.listen_port, spec.capture.admin_port}
    for container in pod_spec(deployment).get("containers") or []:
        if container.get("name") == SIDECAR_CONTAINER:
            continue
        for port in container.get("ports") or []:
            if port.get("containerPort") in ours:
                raise InjectionError(
                    "PortConflict",
                    f"container {container.get('name')} of Deployment {workload_name(deployment)} "
                    f"already uses port {port['containerPort']}; set spec.capture.listenPort "
                    "or adminPort to a free port",
                )


def pod_spec(deployment: Mapping[str, Any]) -> Mapping[str, Any]:
    spec: Mapping[str, Any] = deployment.get("spec", {}).get("template", {}).get("spec", {})
    return spec


def named(items: Any, name: str) -> Any:
    return next((item for item in items or [] if item.get("name") == name), None)


def workload_name(deployment: Mapping[str, Any]) -> str:
    return str(deployment.get("metadata", {}).get("name", "?"))


def covers(actual: Any, wanted: Any) -> bool:
    """Whether ``actual`` has everything ``wanted`` has (mappings by key, lists item by item,
    lists of named items by name as a strategic merge patch merges them, whatever their order):
    what the operator wrote is still there, whatever defaults the API server added.

    >>> covers({"a": 1, "b": [{"c": 2, "d": 3}]}, {"b": [{"c": 2}]})
    True
    >>> covers({"a": 1}, {"a": 2})
    False
    >>> covers([{"name": "B", "value": "2"}, {"name": "A"}], [{"name": "A"}, {"name": "B"}])
    True
    """
    if isinstance(wanted, Mapping):
        return isinstance(actual, Mapping) and all(
            covers(actual.get(key), value) for key, value in wanted.items()
        )
    if _named_items(wanted) and _named_items(actual):
        by_name = {item["name"]: item for item in actual}
        return len(by_name) == len(actual) == len(wanted) and all(
            covers(by_name.get(item["name"]), item) for item in wanted
        )
    if isinstance(wanted, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(wanted)
            and all(covers(a, w) for a, w in zip(actual, wanted, strict=True))
        )
    return bool(actual == wanted)


def _named_items(value: Any) -> bool:
    """A non-empty list whose items all carry a ``name`` (env, containers, volumes, mounts)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, Mapping) and "name" in item for item in value)
    )
