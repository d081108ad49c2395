"""One sidecar for the monitors of several models of one workload: pure plans.

Monitors that watch different models (``spec.target.model``) of one Deployment or StatefulSet
share its one injected sidecar. Each keeps its own ConfigMap ``{monitor}-kubedrift-sidecar``
(its model, baseline, window, sampling, payload naming; ``kubedrift.controller.sidecar_config``)
and token Secret; the Pod template mounts them all in one projected volume, each member's files
under ``/etc/kubedrift/{monitor}``, and the sidecar reads the first member's file with
``--config`` (its process-wide settings: mode, protocol, queue, priority) and the others' with
``--model-config``. Each member's admin token is in its own environment variable; the sidecar
accepts any of them, and each monitor reads its own model's window (``/v1/window?model=``).

A monitor of one model alone on its workload gets the unshared sidecar exactly
(:func:`plan_lone_member`: files at the root of ``/etc/kubedrift``, token in
``KUBEDRIFT_SIDECAR_TOKEN``), as before sidecars could be shared, so an upgrade rolls none of
its Pods; its entry is marked ``root`` and keeps that place when others join (their files go
in folders).

Who shares is recorded on the workload in the annotation ``kubedrift.io/monitors``
(:data:`~kubedrift.controller.names.MEMBERS_ANNOTATION`), a JSON object::

    {"iris": {"model": "iris", "hash": "<its ConfigMap's hash>", "sidecar": "<settings>"}}

``hash`` lets any member compute the Pod template's config hash (:func:`members_hash`) without
reading the others' ConfigMaps; ``sidecar`` (:func:`sidecar_settings`) is what the one
container is built from, which all members must agree on. ``kubedrift.io/monitor`` names the
first member (by name), as for an unshared sidecar.

:func:`plan_member_injection` adds or updates a member; it refuses (``TargetAlreadyMonitored``)
a second monitor of the same model, a monitor of the whole port next to a member, and a member
whose sidecar settings differ (``SidecarSettingsDiffer``). :func:`plan_member_removal` takes a
member out and keeps the sidecar for the others; the last one removes it like
:func:`~kubedrift.controller.injection.plan_removal`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller.injection import (
    InjectionError,
    SidecarOptions,
    build_sidecar_container,
    check_ports,
    covers,
    named,
    plan_injection,
    plan_removal,
    pod_spec,
    target_container,
    workload_name,
)
from kubedrift.controller.names import (
    CONFIG_HASH_ANNOTATION,
    CONFIG_MOUNT_PATH,
    CONFIG_VOLUME,
    MEMBERS_ANNOTATION,
    MODELS_VOLUME,
    MONITOR_ANNOTATION,
    MONITOR_LABEL,
    SIDECAR_CONTAINER,
    SIDECAR_TOKEN_KEY,
    MonitorRef,
)
from kubedrift.controller.sidecar_config import (
    BASELINE_FILE,
    CONFIG_FILE,
    TOKEN_ENV,
    config_hash,
    member_token_env,
)

Members = dict[str, dict[str, Any]]
#: A member's key marking its files at the root of the mount (:func:`plan_lone_member`).
ROOT = "root"
_CONFIG_FLAGS = ("--config", "--model-config")


def members_of(workload: Mapping[str, Any]) -> Members:
    """The workload's members (empty when its sidecar is not shared, or the annotation is bad)."""
    annotations = (workload.get("metadata") or {}).get("annotations") or {}
    try:
        found = json.loads(annotations.get(MEMBERS_ANNOTATION) or "{}")
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(k): dict(v) for k, v in found.items() if isinstance(v, dict)}


def sidecar_settings(spec: ModelMonitorSpec) -> str:
    """The settings the one container is built from, which every member must share."""
    capture, target = spec.capture, spec.target
    return (
        f"mode={capture.mode} protocol={capture.protocol} listenPort={capture.listen_port} "
        f"adminPort={capture.admin_port} port={target.port} container={target.container or ''}"
    )


def members_hash(members: Mapping[str, Mapping[str, Any]]) -> str:
    """The Pod template's config hash: of every member's ConfigMap hash."""
    return config_hash({name: str(member.get("hash")) for name, member in members.items()})


def plan_member_injection(
    workload: Mapping[str, Any],
    spec: ModelMonitorSpec,
    monitor: MonitorRef,
    options: SidecarOptions,
    own_hash: str,
) -> dict[str, Any] | None:
    """A strategic merge patch adding (or updating) ``monitor`` as a member; ``None`` when up to
    date. Raises :class:`~kubedrift.controller.injection.InjectionError` (see the module)."""
    members = members_of(workload)
    annotations = (workload.get("metadata") or {}).get("annotations") or {}
    owner = annotations.get(MONITOR_ANNOTATION)
    name = f"{spec.target.kind} {workload_name(workload)}"
    if owner not in (None, monitor.name) and owner not in members:
        raise InjectionError(
            "TargetAlreadyMonitored",
            f"{name} is already monitored by ModelMonitor {owner} for every model on its port; "
            "a monitor of one model (spec.target.model) can share the sidecar only with other "
            "monitors of one model each",
        )
    wanted = joined_members(members, spec, monitor, own_hash, name)
    if set(wanted) == {monitor.name}:
        return plan_lone_member(workload, spec, monitor, options, own_hash)
    target_container(workload, spec)
    check_ports(workload, spec)
    if members.get(monitor.name, {}).get(ROOT):
        wanted[monitor.name][ROOT] = True
    root = root_of(wanted)
    container = build_sidecar_container(spec, monitor, options)
    return _plan(workload, wanted, with_members(container, sorted(wanted), root))


def plan_lone_member(
    workload: Mapping[str, Any],
    spec: ModelMonitorSpec,
    monitor: MonitorRef,
    options: SidecarOptions,
    own_hash: str,
) -> dict[str, Any] | None:
    """A monitor of one model alone on its workload: the Pod template of an unshared sidecar
    exactly (:func:`~kubedrift.controller.injection.plan_injection`, its files at the root of
    ``/etc/kubedrift``), and only the workload's annotation says it is a member (``root``), so
    a second monitor can join without moving its files."""
    entry = {
        "model": spec.target.model,
        "hash": own_hash,
        "sidecar": sidecar_settings(spec),
        ROOT: True,
    }
    members = {monitor.name: entry}
    current = named(pod_spec(workload).get("containers"), SIDECAR_CONTAINER)
    shared_before = named(pod_spec(workload).get("volumes"), MODELS_VOLUME) is not None
    stripped = workload
    if shared_before:  # the members' layout before (the others left): plan as if unshared
        stripped = {
            **workload,
            "metadata": {
                **(workload.get("metadata") or {}),
                "annotations": {
                    k: v
                    for k, v in ((workload.get("metadata") or {}).get("annotations") or {}).items()
                    if k != MEMBERS_ANNOTATION
                },
            },
        }
    patch = plan_injection(stripped, spec, monitor, options, own_hash)
    if patch is None and members_of(workload) == members and not shared_before:
        return None
    patch = patch or {}
    patch.setdefault("metadata", {}).setdefault("annotations", {})[MEMBERS_ANNOTATION] = (
        encode_members(members)
    )
    if shared_before:
        pod = patch.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})
        pod.setdefault("volumes", []).append({"name": MODELS_VOLUME, "$patch": "delete"})
        stale = [
            {"name": e["name"], "$patch": "delete"}
            for e in (current or {}).get("env") or []
            if _is_token(e) and e["name"] != TOKEN_ENV
        ]
        for container in pod.get("containers") or []:
            if container.get("name") == SIDECAR_CONTAINER:
                container["env"] = [*container.get("env", []), *stale]
    return patch


def root_of(members: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The member whose files are at the root of ``/etc/kubedrift`` (it was alone first)."""
    return next((name for name, member in sorted(members.items()) if member.get(ROOT)), None)


def joined_members(
    members: Mapping[str, Mapping[str, Any]],
    spec: ModelMonitorSpec,
    monitor: MonitorRef,
    own_hash: str,
    target: str,
) -> Members:
    """``members`` with ``monitor`` added (or updated). Raises
    :class:`~kubedrift.controller.injection.InjectionError` for a second monitor of the same
    model (``TargetAlreadyMonitored``) and for differing sidecar settings
    (``SidecarSettingsDiffer``); ``target`` names the shared workload in those messages."""
    settings = sidecar_settings(spec)
    for other, member in sorted(members.items()):
        if other == monitor.name:
            continue
        if member.get("model") == spec.target.model:
            raise InjectionError(
                "TargetAlreadyMonitored",
                f"model {spec.target.model} of {target} is already monitored by ModelMonitor "
                f"{other}; one monitor per model",
            )
        if member.get("sidecar") != settings:
            raise InjectionError(
                "SidecarSettingsDiffer",
                f"ModelMonitor {other} shares the sidecar of {target} with "
                f"{member.get('sidecar')}; this monitor asks for {settings}: monitors of one "
                "workload need the same spec.capture mode, protocol, listenPort and adminPort "
                "and spec.target port and container",
            )
    return {
        **{k: dict(v) for k, v in members.items()},
        monitor.name: {"model": spec.target.model, "hash": own_hash, "sidecar": settings},
    }


def plan_member_removal(workload: Mapping[str, Any], monitor: MonitorRef) -> dict[str, Any] | None:
    """A patch taking ``monitor`` out of the shared sidecar, keeping it for the other members;
    the last member (or a monitor that is no member) removes it (``plan_removal``)."""
    members = members_of(workload)
    if monitor.name not in members:
        return plan_removal(workload, monitor)
    remaining = {k: v for k, v in members.items() if k != monitor.name}
    if not remaining:
        patch = plan_removal(workload, monitor)
        if patch is None:
            return None
        patch["metadata"]["annotations"][MEMBERS_ANNOTATION] = None
        volumes = patch["spec"]["template"]["spec"].setdefault("volumes", [])
        if named(pod_spec(workload).get("volumes"), MODELS_VOLUME) is not None:
            volumes.append({"name": MODELS_VOLUME, "$patch": "delete"})
        if not volumes:
            del patch["spec"]["template"]["spec"]["volumes"]
        return patch
    current = named(pod_spec(workload).get("containers"), SIDECAR_CONTAINER)
    if current is None:
        return {"metadata": {"annotations": {MEMBERS_ANNOTATION: encode_members(remaining)}}}
    root = root_of(remaining)
    if root is not None and set(remaining) == {root}:
        return _plan_root_alone(workload, root, remaining[root], current)
    return _plan(workload, remaining, with_members(dict(current), sorted(remaining), root))


def _plan_root_alone(
    workload: Mapping[str, Any],
    root: str,
    member: Mapping[str, Any],
    current: Mapping[str, Any],
) -> dict[str, Any]:
    """The root member left alone: straight back to the unshared sidecar's template (what
    :func:`plan_lone_member` would make of it), so the Pods roll once, not twice."""
    container = with_members(current, [root], root)
    args = container["args"]  # ``--config`` first, as an unshared sidecar's
    container["args"] = [*args[-2:], *args[:-2]]
    container["volumeMounts"] = [
        {"name": CONFIG_VOLUME, "mountPath": CONFIG_MOUNT_PATH, "readOnly": True}
    ]
    stale = [
        {"name": e["name"], "$patch": "delete"}
        for e in current.get("env") or []
        if _is_token(e) and e["name"] != TOKEN_ENV
    ]
    container["env"] = [*container["env"], *stale]
    return {
        "metadata": {
            "annotations": {
                MONITOR_ANNOTATION: root,
                MEMBERS_ANNOTATION: encode_members({root: dict(member)}),
            }
        },
        "spec": {
            "template": {
                "metadata": {
                    "labels": {MONITOR_LABEL: root},
                    "annotations": {CONFIG_HASH_ANNOTATION: str(member.get("hash"))},
                },
                "spec": {
                    "containers": [container],
                    "volumes": [
                        {"name": CONFIG_VOLUME, "configMap": {"name": f"{root}-kubedrift-sidecar"}},
                        {"name": MODELS_VOLUME, "$patch": "delete"},
                    ],
                },
            }
        },
    }


def with_members(
    container: Mapping[str, Any], members: Sequence[str], root: str | None = None
) -> dict[str, Any]:
    """``container`` reading every member's files and tokens (the first member's with
    ``--config``), whatever members it read before; ``root``'s files are at the root of the
    mount and its token in the unshared sidecar's variable (:func:`plan_lone_member`)."""
    args: list[str] = []
    skip = False
    for arg in container.get("args") or []:
        if skip:
            skip = False
        elif arg in _CONFIG_FLAGS:
            skip = True
        else:
            args.append(str(arg))
    for index, member in enumerate(members):
        args += [_CONFIG_FLAGS[min(index, 1)], f"{_folder(member, root)}/{CONFIG_FILE}"]
    env = [e for e in container.get("env") or [] if not _is_token(e)]
    env += [
        {
            "name": TOKEN_ENV if member == root else member_token_env(member),
            "valueFrom": {
                "secretKeyRef": {"name": f"{member}-kubedrift-token", "key": SIDECAR_TOKEN_KEY}
            },
        }
        for member in members
    ]
    mount = {"name": MODELS_VOLUME, "mountPath": CONFIG_MOUNT_PATH, "readOnly": True}
    return {**container, "args": args, "env": env, "volumeMounts": [mount]}


def models_volume(members: Sequence[str], root: str | None = None) -> dict[str, Any]:
    """The projected volume with every member's ConfigMap under its own folder (``root``'s at
    the top)."""
    return {
        "name": MODELS_VOLUME,
        "projected": {
            "sources": [
                {
                    "configMap": {
                        "name": f"{member}-kubedrift-sidecar",
                        "items": [
                            {"key": key, "path": key if member == root else f"{member}/{key}"}
                            for key in (CONFIG_FILE, BASELINE_FILE)
                        ],
                    }
                }
                for member in members
            ]
        },
    }


def _folder(member: str, root: str | None) -> str:
    return CONFIG_MOUNT_PATH if member == root else f"{CONFIG_MOUNT_PATH}/{member}"


def _is_token(env: Mapping[str, Any]) -> bool:
    return str(env.get("name", "")).startswith(TOKEN_ENV)


def encode_members(members: Members) -> str:
    """The :data:`~kubedrift.controller.names.MEMBERS_ANNOTATION` value of ``members``."""
    return json.dumps(members, sort_keys=True, separators=(",", ":"))


def _plan(
    workload: Mapping[str, Any], members: Members, container: dict[str, Any]
) -> dict[str, Any] | None:
    names = sorted(members)
    first = names[0]
    volume = models_volume(names, root_of(members))
    digest = members_hash(members)
    annotations = (workload.get("metadata") or {}).get("annotations") or {}
    template = (workload.get("spec") or {}).get("template") or {}
    template_metadata = template.get("metadata") or {}
    spec = pod_spec(workload)
    current = named(spec.get("containers"), SIDECAR_CONTAINER)
    stale_env = [
        {"name": e["name"], "$patch": "delete"}
        for e in (current or {}).get("env") or []
        if _is_token(e) and e["name"] not in {x["name"] for x in container["env"]}
    ]
    if (
        not stale_env
        and annotations.get(MONITOR_ANNOTATION) == first
        and members_of(workload) == members
        and (template_metadata.get("annotations") or {}).get(CONFIG_HASH_ANNOTATION) == digest
        and (template_metadata.get("labels") or {}).get(MONITOR_LABEL) == first
        and covers(current, container)
        and covers(named(spec.get("volumes"), MODELS_VOLUME), volume)
        and named(spec.get("volumes"), CONFIG_VOLUME) is None
    ):
        return None
    volumes: list[dict[str, Any]] = [volume]
    if named(spec.get("volumes"), CONFIG_VOLUME) is not None:  # an unshared sidecar before
        volumes.append({"name": CONFIG_VOLUME, "$patch": "delete"})
    patched = {**container, "env": container["env"] + stale_env}
    return {
        "metadata": {
            "annotations": {MONITOR_ANNOTATION: first, MEMBERS_ANNOTATION: encode_members(members)}
        },
        "spec": {
            "template": {
                "metadata": {
                    "labels": {MONITOR_LABEL: first},
                    "annotations": {CONFIG_HASH_ANNOTATION: digest},
                },
                "spec": {"containers": [patched], "volumes": volumes},
            }
        },
    }
