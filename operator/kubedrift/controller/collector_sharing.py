"""One collector for the monitors of several models of one InferenceService: pure plans.

An InferenceService has one predictor logger, so it has one collector. The first monitor that
takes the logger creates it, ``{first}-kubedrift-collector``, and the InferenceService names that
monitor in ``kubedrift.io/monitor`` (:func:`collector_holder`) for as long as the collector runs,
even after that monitor is gone: the name is the collector's.

A monitor of the whole InferenceService (no ``spec.target.model``) has the collector to itself,
built as before (:func:`~kubedrift.controller.collector.build_collector_deployment`). Monitors of
one model each (``spec.target.model``) are its members, like the members of a shared injected
sidecar (``kubedrift.controller.sharing``): the collector Deployment carries
``kubedrift.io/monitors``, its container reads every member's config with ``--config`` /
``--model-config`` from one projected volume, holds every member's token, and the collector
Deployment and Service are owned by every member (so the garbage collector keeps them while one
is left). The sidecar routes each CloudEvent by the model its response names (OIP
``model_name``; ``kubedrift.sidecar.mirror``).

:func:`shared_collector` is the desired collector Deployment of a set of members;
:func:`plan_collector_members` a JSON merge patch bringing a found one to it (the collector is
the operator's own object, so lists are replaced whole).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller.collector import build_collector_deployment, build_collector_service
from kubedrift.controller.injection import SidecarOptions, covers
from kubedrift.controller.names import MEMBERS_ANNOTATION, MONITOR_ANNOTATION, MonitorRef
from kubedrift.controller.sharing import (
    Members,
    encode_members,
    members_hash,
    models_volume,
    with_members,
)

#: Annotation on a shared collector Deployment: the InferenceService whose events it receives
#: (a monitor that moved to another InferenceService must not take its members' collector).
INFERENCE_SERVICE_ANNOTATION = "kubedrift.io/inference-service"


def served_inference_service(collector: Mapping[str, Any]) -> str | None:
    """The InferenceService a shared collector serves (``None``: not recorded)."""
    annotations = (collector.get("metadata") or {}).get("annotations") or {}
    found = annotations.get(INFERENCE_SERVICE_ANNOTATION)
    return str(found) if found else None


def collector_holder(isvc: Mapping[str, Any]) -> str | None:
    """The monitor whose name the InferenceService's collector carries (``None``: none runs).

    >>> collector_holder({"metadata": {"annotations": {"kubedrift.io/monitor": "iris"}}})
    'iris'
    """
    annotations = (isvc.get("metadata") or {}).get("annotations") or {}
    holder = annotations.get(MONITOR_ANNOTATION)
    return str(holder) if holder else None


def member_owners(
    found: Mapping[str, Any] | None, members: Mapping[str, Any], monitor: MonitorRef | None
) -> list[dict[str, Any]]:
    """Owner references of a shared collector object: the found ones of remaining members and
    ``monitor``'s own. None is the controller (several monitors own the object alike)."""
    kept = [
        {**ref, "controller": False}
        for ref in ((found or {}).get("metadata") or {}).get("ownerReferences") or []
        if ref.get("name") in members and (monitor is None or ref.get("name") != monitor.name)
    ]
    if monitor is not None:
        kept.append({**monitor.owner_reference(), "controller": False})
    return sorted(kept, key=lambda ref: str(ref.get("name")))


def shared_collector(
    creator: MonitorRef,
    spec: ModelMonitorSpec,
    options: SidecarOptions,
    members: Members,
    owners: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The collector Deployment of ``members`` (named after ``creator``, see the module)."""
    names = sorted(members)
    body = build_collector_deployment(creator, spec, options, members_hash(members))
    pod = body["spec"]["template"]["spec"]
    pod["containers"] = [with_members(pod["containers"][0], names)]
    pod["volumes"] = [models_volume(names)]
    body["metadata"]["annotations"] = {
        MEMBERS_ANNOTATION: encode_members(members),
        INFERENCE_SERVICE_ANNOTATION: str(spec.target.inference_service),
    }
    body["metadata"]["ownerReferences"] = [dict(ref) for ref in owners]
    return body


def shared_collector_service(
    creator: MonitorRef, spec: ModelMonitorSpec, owners: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The collector Service, owned by every member."""
    body = build_collector_service(creator, spec)
    body["metadata"]["ownerReferences"] = [dict(ref) for ref in owners]
    return body


def plan_collector_members(
    found: Mapping[str, Any], desired: Mapping[str, Any]
) -> dict[str, Any] | None:
    """A JSON merge patch bringing a found collector object to ``desired`` (its labels,
    annotations, owners and spec); ``None`` when it has all of it already."""
    metadata = desired["metadata"]
    wanted: dict[str, Any] = {"metadata": {"labels": metadata["labels"]}, "spec": desired["spec"]}
    if "annotations" in metadata:
        wanted["metadata"]["annotations"] = metadata["annotations"]
    owners = list(metadata.get("ownerReferences") or [])
    found_owners = (found.get("metadata") or {}).get("ownerReferences") or []
    same_owners = len(owners) == len(found_owners) and covers(found_owners, owners)
    if same_owners and covers(found, wanted):
        return None
    wanted["metadata"]["ownerReferences"] = owners
    return wanted
