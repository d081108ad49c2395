"""A small strategic merge patch for the workload shapes the operator's plans write, so unit
tests can apply a plan's patch to a Deployment as the API server would."""

from __future__ import annotations

import copy
from typing import Any

#: Lists merged item by item (by ``name``, else ``port``); every other list is replaced.
_NAMED_LISTS = ("containers", "initContainers", "env", "volumes", "ports")


def apply_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``target`` with ``patch`` applied: containers, env, volumes and ports merge by name (ports
    without one by ``port``), volume mounts by ``mountPath``, ``$patch: delete`` removes an item,
    other lists are replaced, ``None`` deletes a key, and a list left empty is dropped (as the
    API server does)."""
    result = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = apply_patch(result.get(key) or {}, value)
        elif isinstance(value, list) and key in (*_NAMED_LISTS, "volumeMounts"):
            merged = list(result.get(key) or [])
            for item in value:
                merge_key = _merge_key(key, item)
                index = next(
                    (i for i, old in enumerate(merged) if old.get(merge_key) == item[merge_key]),
                    None,
                )
                if item.get("$patch") == "delete":
                    if index is not None:
                        merged.pop(index)
                elif index is None:
                    merged.append(item)
                else:
                    merged[index] = apply_patch(merged[index], item)
            if merged:
                result[key] = merged
            else:
                result.pop(key, None)
        else:
            result[key] = value
    return result


def _merge_key(key: str, item: dict[str, Any]) -> str:
    if key == "volumeMounts":
        return "mountPath"
    return "name" if "name" in item else "port"
