"""A collector for a KServe InferenceService (``spec.target.inferenceService``): pure builders.

KServe puts its own logger agent in front of the predictor's model server; with
``spec.predictor.logger`` set, the agent posts every request and response as a CloudEvent to
the logger's ``url``. The operator therefore adds nothing to the predictor's Pods. Instead it
runs the sidecar in mirror mode as a Deployment and Service of its own, the collector
``{monitor}-kubedrift-collector``, and points the logger at that Service:

- :func:`build_collector_deployment` and :func:`build_collector_service`: the collector, owned by
  the monitor, with the injected sidecar's container (:func:`~.injection.build_sidecar_container`
  of :func:`collector_spec`, so the same config, baseline, token and restricted security
  context) and the config hash on its Pod template, so the evaluation counts only current Pods.
  One replica: the request and the response of one exchange are two posts that must meet in
  one process.
- :func:`plan_logger` sets ``spec.predictor.logger`` to ``{mode: all, url: <collector>}`` (a JSON
  merge patch: the custom resource has no strategic merge) and remembers the logger it replaced
  in the annotation ``kubedrift.io/original-logger`` (JSON, ``null`` when there was none);
  :func:`plan_logger_restore` puts that back when the monitor is deleted.

The InferenceService carries ``kubedrift.io/monitor`` like an injected Deployment, so two
monitors of every model cannot both take its logger; monitors of one model each share the
collector (``kubedrift.controller.collector_sharing``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller.client import apps
from kubedrift.controller.injection import (
    RESTRICTED_SECURITY_CONTEXT,
    InjectionError,
    SidecarOptions,
    build_sidecar_container,
    covers,
)
from kubedrift.controller.names import (
    CONFIG_HASH_ANNOTATION,
    CONFIG_VOLUME,
    MONITOR_ANNOTATION,
    MonitorRef,
    workload_resource,
)

KSERVE_GROUP = "serving.kserve.io"
KSERVE_VERSION = "v1beta1"
INFERENCE_SERVICES = "inferenceservices"
#: Annotation on the InferenceService with the ``spec.predictor.logger`` the collector replaced
#: (JSON; ``null`` when the predictor had no logger).
ORIGINAL_LOGGER_ANNOTATION = "kubedrift.io/original-logger"
#: Label selecting a monitor's collector Pods (value: the monitor's name).
COLLECTOR_LABEL = "kubedrift.io/collector"
#: The longest collector name that is still a valid Service name (a DNS label).
MAX_SERVICE_NAME = 63


def inference_service_path(namespace: str, name: str | None = None) -> str:
    """API path of an InferenceService (or of the namespace's collection)."""
    path = f"/apis/{KSERVE_GROUP}/{KSERVE_VERSION}/namespaces/{namespace}/{INFERENCE_SERVICES}"
    return f"{path}/{name}" if name else path


def collector_name(monitor: MonitorRef) -> str:
    """Name of the collector Deployment and Service.

    >>> collector_name(MonitorRef("ml", "iris", "uid-1"))
    'iris-kubedrift-collector'
    """
    return f"{monitor.name}-kubedrift-collector"


def collector_url(monitor: MonitorRef, spec: ModelMonitorSpec) -> str:
    """The logger URL: the collector Service's cluster DNS name and the listen port.

    >>> from kubedrift.api.spec import parse_spec
    >>> spec = parse_spec({"target": {"inferenceService": "iris", "port": 8080},
    ...                    "baseline": {"configMapRef": {"name": "b"}}})
    >>> collector_url(MonitorRef("ml", "iris", "uid-1"), spec)
    'http://iris-kubedrift-collector.ml.svc:8480'
    """
    return f"http://{collector_name(monitor)}.{monitor.namespace}.svc:{spec.capture.listen_port}"


def sidecar_workload_path(monitor: MonitorRef, spec: ModelMonitorSpec) -> str:
    """API path of the workload whose Pods hold the monitor's sidecars: the target Deployment
    (or StatefulSet), or the collector Deployment for an InferenceService."""
    if spec.target.inference_service is not None:
        return apps(monitor.namespace, "deployments", collector_name(monitor))
    resource = workload_resource(spec.target.kind)
    return apps(monitor.namespace, resource, str(spec.target.deployment))


def collector_spec(spec: ModelMonitorSpec) -> ModelMonitorSpec:
    """``spec`` with ``capture.mode`` mirror: what the collector's config and flags are made of."""
    return dataclasses.replace(spec, capture=dataclasses.replace(spec.capture, mode="mirror"))


def check_collector_name(monitor: MonitorRef) -> None:
    """Raise :class:`InjectionError` when the collector's name is too long for a Service."""
    name = collector_name(monitor)
    if len(name) > MAX_SERVICE_NAME:
        raise InjectionError(
            "CollectorNameTooLong",
            f"the collector Service {name} would be longer than {MAX_SERVICE_NAME} characters; "
            "use a shorter ModelMonitor name",
        )


def _selector(monitor: MonitorRef) -> dict[str, str]:
    return {COLLECTOR_LABEL: monitor.name}


def build_collector_deployment(
    monitor: MonitorRef, spec: ModelMonitorSpec, options: SidecarOptions, config_hash: str
) -> dict[str, Any]:
    """The collector Deployment: one Pod running ``kubedrift sidecar --mode mirror``."""
    container = build_sidecar_container(collector_spec(spec), monitor, options)
    container["args"] = [*container["args"], "--mode", "mirror"]
    labels = {**monitor.labels(), **_selector(monitor)}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": collector_name(monitor),
            "namespace": monitor.namespace,
            "labels": labels,
            "ownerReferences": [monitor.owner_reference()],
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": _selector(monitor)},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {CONFIG_HASH_ANNOTATION: config_hash},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": RESTRICTED_SECURITY_CONTEXT["runAsNonRoot"],
                        "seccompProfile": RESTRICTED_SECURITY_CONTEXT["seccompProfile"],
                    },
                    "containers": [container],
                    "volumes": [
                        {"name": CONFIG_VOLUME, "configMap": {"name": monitor.sidecar_config_map}}
                    ],
                },
            },
        },
    }


def build_collector_service(monitor: MonitorRef, spec: ModelMonitorSpec) -> dict[str, Any]:
    """The collector Service: the listen port (where the logger posts), nothing else."""
    port = spec.capture.listen_port
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": collector_name(monitor),
            "namespace": monitor.namespace,
            "labels": monitor.labels(),
            "ownerReferences": [monitor.owner_reference()],
        },
        "spec": {
            "selector": _selector(monitor),
            "ports": [{"name": "kd-traffic", "port": port, "targetPort": port, "protocol": "TCP"}],
        },
    }


def plan_collector_update(
    found: Mapping[str, Any], desired: Mapping[str, Any]
) -> dict[str, Any] | None:
    """A patch bringing an existing collector object's ``spec`` and labels to ``desired``;
    ``None`` when the object already has everything ``desired`` has (the API server adds
    defaults, so equality is too strict)."""
    wanted = {"metadata": {"labels": desired["metadata"]["labels"]}, "spec": desired["spec"]}
    if covers(found, wanted):
        return None
    return wanted


def _logger(isvc: Mapping[str, Any]) -> Any:
    return ((isvc.get("spec") or {}).get("predictor") or {}).get("logger")


def _owner(isvc: Mapping[str, Any]) -> Any:
    return ((isvc.get("metadata") or {}).get("annotations") or {}).get(MONITOR_ANNOTATION)


def plan_logger(isvc: Mapping[str, Any], monitor: MonitorRef, url: str) -> dict[str, Any] | None:
    """A JSON merge patch pointing the predictor's logger at ``url`` (mode all); ``None`` when
    it already does. The first patch remembers the logger it replaces.

    Raises :class:`InjectionError` when another monitor holds this InferenceService.

    >>> isvc = {"metadata": {"name": "iris"}, "spec": {"predictor": {"model": {}}}}
    >>> patch = plan_logger(isvc, MonitorRef("ml", "watch", "u"), "http://c.ml.svc:8480")
    >>> patch["spec"], patch["metadata"]["annotations"]["kubedrift.io/original-logger"]
    ({'predictor': {'logger': {'mode': 'all', 'url': 'http://c.ml.svc:8480'}}}, 'null')
    """
    owner = _owner(isvc)
    if owner not in (None, monitor.name):
        raise InjectionError(
            "TargetAlreadyMonitored",
            f"InferenceService {isvc['metadata'].get('name')} is already monitored by "
            f"ModelMonitor {owner}",
        )
    wanted = {"mode": "all", "url": url}
    current = _logger(isvc)
    annotations = (isvc.get("metadata") or {}).get("annotations") or {}
    if owner == monitor.name and ORIGINAL_LOGGER_ANNOTATION in annotations:
        if covers(current, wanted):
            return None
        return {"spec": {"predictor": {"logger": wanted}}}
    remembered = annotations.get(ORIGINAL_LOGGER_ANNOTATION, json.dumps(current, sort_keys=True))
    return {
        "metadata": {
            "annotations": {
                MONITOR_ANNOTATION: monitor.name,
                ORIGINAL_LOGGER_ANNOTATION: remembered,
            }
        },
        "spec": {"predictor": {"logger": wanted}},
    }


def plan_logger_restore(isvc: Mapping[str, Any], monitor: MonitorRef) -> dict[str, Any] | None:
    """A JSON merge patch restoring the logger :func:`plan_logger` replaced, or ``None``.

    An InferenceService held by another monitor is left alone. Keys of the collector's logger
    that the original did not have are removed (a merge patch keeps what it does not name).

    >>> isvc = {"metadata": {"name": "iris", "annotations": {
    ...     "kubedrift.io/monitor": "watch", "kubedrift.io/original-logger": "null"}},
    ...     "spec": {"predictor": {"logger": {"mode": "all", "url": "http://c"}}}}
    >>> plan_logger_restore(isvc, MonitorRef("ml", "watch", "u"))["spec"]
    {'predictor': {'logger': None}}
    """
    annotations = (isvc.get("metadata") or {}).get("annotations") or {}
    if _owner(isvc) != monitor.name:
        return None
    clear = {MONITOR_ANNOTATION: None, ORIGINAL_LOGGER_ANNOTATION: None}
    if ORIGINAL_LOGGER_ANNOTATION not in annotations:
        return {"metadata": {"annotations": clear}}
    original = json.loads(annotations[ORIGINAL_LOGGER_ANNOTATION])
    current = _logger(isvc)
    restored: Any = original
    if isinstance(original, Mapping) and isinstance(current, Mapping):
        restored = {**{key: None for key in current if key not in original}, **original}
    return {"metadata": {"annotations": clear}, "spec": {"predictor": {"logger": restored}}}
