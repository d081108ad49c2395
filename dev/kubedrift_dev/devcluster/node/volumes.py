"""What each of a Pod's volumes contains, and where each container sees it (pure planning).

:func:`plan_volume` turns one ``spec.volumes`` entry into a :class:`VolumeContent`: files to write
(configMap, secret, downwardAPI, projected with serviceAccountToken / configMap / secret /
downwardAPI sources), an empty directory (emptyDir) or a host directory (hostPath).
:func:`container_mounts` lists the bind mounts of one container's ``volumeMounts``.
Writing the files and mounting them is the job of :mod:`.sandbox`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from kubedrift_dev.devcluster.node.env import EnvError, Objects, PodContext, field_value

DEFAULT_MODE = 0o644


class VolumeError(Exception):
    """A volume cannot be prepared (yet): a referenced object is missing or unsupported."""


class Sources(Objects, Protocol):
    """Objects plus ServiceAccount tokens (the TokenRequest API)."""

    def token(
        self, pod: Mapping[str, Any], audience: str | None, expiration_seconds: int
    ) -> str: ...


@dataclass(frozen=True)
class FileEntry:
    """One file of a volume, relative to the volume's root."""

    path: str
    content: bytes
    mode: int = DEFAULT_MODE


@dataclass(frozen=True)
class VolumeContent:
    """A volume ready to be written: ``files`` (``kind == "files"``), nothing (``"emptyDir"``) or
    ``host_path`` (``"hostPath"``)."""

    name: str
    kind: str
    files: tuple[FileEntry, ...] = ()
    host_path: str | None = None


@dataclass(frozen=True)
class Mount:
    """A bind mount of ``source`` (a host path) at ``target`` inside the container."""

    source: Path
    target: str
    read_only: bool = False
    is_file: bool = field(default=False, compare=False)


def plan_volume(volume: Mapping[str, Any], context: PodContext, sources: Sources) -> VolumeContent:
    """The content of ``volume`` for the Pod in ``context``."""
    name = volume["name"]
    namespace = context.pod.get("metadata", {}).get("namespace", "default")
    if "emptyDir" in volume:
        return VolumeContent(name, "emptyDir")
    if "hostPath" in volume:
        return VolumeContent(name, "hostPath", host_path=volume["hostPath"]["path"])
    if "configMap" in volume:
        ref = volume["configMap"]
        files = _keyed(ref, sources.config_map(namespace, ref["name"]), "configmap")
    elif "secret" in volume:
        ref = {**volume["secret"], "name": volume["secret"]["secretName"]}
        files = _keyed(ref, sources.secret(namespace, ref["name"]), "secret")
    elif "downwardAPI" in volume:
        ref = volume["downwardAPI"]
        files = _downward(ref.get("items") or [], context)
    elif "projected" in volume:
        ref = volume["projected"]
        files = []
        for source in ref.get("sources") or []:
            files.extend(_projected_source(source, context, sources, namespace))
    else:
        kinds = sorted(set(volume) - {"name"})
        raise VolumeError(f"volume {name}: unsupported volume type {kinds}")
    mode = ref.get("defaultMode", DEFAULT_MODE)
    return VolumeContent(
        name, "files", tuple(FileEntry(f.path, f.content, f.mode or mode) for f in files)
    )


def container_mounts(
    container: Mapping[str, Any], volumes_dir: Path, host_paths: Mapping[str, str]
) -> list[Mount]:
    """The bind mounts for ``container``'s ``volumeMounts``, parents before children.

    ``host_paths`` maps hostPath volume names to their host directory; every other volume lives
    in ``volumes_dir/<name>``.
    """
    mounts = []
    for entry in container.get("volumeMounts") or []:
        root = Path(host_paths.get(entry["name"], volumes_dir / entry["name"]))
        sub_path = entry.get("subPath", "")
        if PurePosixPath(sub_path).is_absolute() or ".." in PurePosixPath(sub_path).parts:
            raise VolumeError(f"volumeMount {entry['name']}: invalid subPath {sub_path!r}")
        source = root / sub_path if sub_path else root
        mounts.append(
            Mount(source, entry["mountPath"], bool(entry.get("readOnly")), source.is_file())
        )
    return sorted(mounts, key=lambda m: len(PurePosixPath(m.target).parts))


def _keyed(ref: Mapping[str, Any], data: Mapping[str, bytes] | None, kind: str) -> list[FileEntry]:
    if data is None:
        if ref.get("optional"):
            return []
        raise VolumeError(f'{kind} "{ref["name"]}" not found')
    items = ref.get("items")
    if not items:
        return [FileEntry(key, value, 0) for key, value in sorted(data.items())]
    files = []
    for item in items:
        if item["key"] not in data:
            if ref.get("optional"):
                continue
            raise VolumeError(f'{kind} "{ref["name"]}" has no key {item["key"]!r}')
        files.append(FileEntry(item["path"], data[item["key"]], item.get("mode", 0)))
    return files


def _downward(items: Sequence[Mapping[str, Any]], context: PodContext) -> list[FileEntry]:
    files = []
    for item in items:
        if "fieldRef" not in item:
            raise VolumeError(f"downwardAPI item {item['path']}: only fieldRef is supported")
        try:
            value = field_value(item["fieldRef"]["fieldPath"], context)
        except EnvError as error:
            raise VolumeError(str(error)) from error
        files.append(FileEntry(item["path"], value.encode(), item.get("mode", 0)))
    return files


def _projected_source(
    source: Mapping[str, Any], context: PodContext, sources: Sources, namespace: str
) -> list[FileEntry]:
    if "serviceAccountToken" in source:
        request = source["serviceAccountToken"]
        token = sources.token(
            context.pod, request.get("audience"), int(request.get("expirationSeconds", 3607))
        )
        return [FileEntry(request["path"], token.encode(), 0)]
    if "configMap" in source:
        ref = source["configMap"]
        return _keyed(ref, sources.config_map(namespace, ref["name"]), "configmap")
    if "secret" in source:
        ref = source["secret"]
        return _keyed(ref, sources.secret(namespace, ref["name"]), "secret")
    if "downwardAPI" in source:
        return _downward(source["downwardAPI"].get("items") or [], context)
    raise VolumeError(f"unsupported projected source {sorted(source)}")
