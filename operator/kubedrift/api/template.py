"""``spec.retraining.template``: the retraining Job's template, and what it may not ask for.

The template is a ``batch/v1`` JobTemplateSpec (``metadata`` + ``spec``). The CRD keeps it open
(``x-kubernetes-preserve-unknown-fields``) so that any Job field works, but types the few fields
that matter here: ``spec.template.spec.containers`` is required and non-empty, ``restartPolicy``
is ``Never`` (default) or ``OnFailure`` as Jobs demand, and a ModelMonitor author cannot gain
privileges through the Job (issue 7): :data:`POD_RULES` reject host namespaces, hostPath volumes,
privileged containers, added capabilities and a Pod-level ServiceAccount (the account is
``spec.retraining.serviceAccountName``, where the operator can apply its allow-list). The same
rules run in Python in :func:`parse_job_template`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kubedrift.api.fields import Rule
from kubedrift.api.parsing import SpecError

#: Bounds on the typed lists, so that the CEL rules below have a bounded cost.
MAX_CONTAINERS = 16
MAX_VOLUMES = 64
MAX_CAPABILITIES = 64
RESTART_POLICIES = ("Never", "OnFailure")


def _flag(pod: Mapping[str, Any], name: str) -> bool:
    return bool(pod.get(name) or False)


def _containers(pod: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    return [c for c in pod.get(key) or [] if isinstance(c, Mapping)]


def _privileged(c: Mapping[str, Any]) -> bool:
    return bool((c.get("securityContext") or {}).get("privileged") or False)


def _adds_capabilities(c: Mapping[str, Any]) -> bool:
    caps = (c.get("securityContext") or {}).get("capabilities") or {}
    return bool(caps.get("add"))


def _no_privileged(key: str) -> Rule:
    return Rule(
        cel=f"!has(self.{key}) || self.{key}.all(c, !has(c.securityContext) || "
        "!has(c.securityContext.privileged) || !c.securityContext.privileged)",
        message="privileged containers are not allowed in retraining Jobs",
        check=lambda pod: not any(_privileged(c) for c in _containers(pod, key)),
        field_path=f".{key}",
        reason="FieldValueForbidden",
    )


def _no_capabilities(key: str) -> Rule:
    return Rule(
        cel=f"!has(self.{key}) || self.{key}.all(c, !has(c.securityContext) || "
        "!has(c.securityContext.capabilities) || !has(c.securityContext.capabilities.add) || "
        "size(c.securityContext.capabilities.add) == 0)",
        message="adding capabilities is not allowed in retraining Jobs",
        check=lambda pod: not any(_adds_capabilities(c) for c in _containers(pod, key)),
        field_path=f".{key}",
        reason="FieldValueForbidden",
    )


def _no_host(name: str) -> Rule:
    return Rule(
        cel=f"!has(self.{name}) || !self.{name}",
        message=f"{name} is not allowed in retraining Jobs",
        check=lambda pod: not _flag(pod, name),
        field_path=f".{name}",
        reason="FieldValueForbidden",
    )


#: Checks on ``template.spec.template.spec`` (the Pod spec), in CEL and Python.
POD_RULES: tuple[Rule, ...] = (
    _no_host("hostNetwork"),
    _no_host("hostPID"),
    _no_host("hostIPC"),
    Rule(
        cel="!has(self.volumes) || self.volumes.all(v, !has(v.hostPath))",
        message="hostPath volumes are not allowed in retraining Jobs",
        check=lambda pod: (
            not any(isinstance(v, Mapping) and "hostPath" in v for v in pod.get("volumes") or [])
        ),
        field_path=".volumes",
        reason="FieldValueForbidden",
    ),
    _no_privileged("containers"),
    _no_privileged("initContainers"),
    _no_capabilities("containers"),
    _no_capabilities("initContainers"),
    Rule(
        cel="!has(self.serviceAccountName) && !has(self.serviceAccount)",
        message="set spec.retraining.serviceAccountName instead of the Pod's own",
        check=lambda pod: "serviceAccountName" not in pod and "serviceAccount" not in pod,
        field_path=".serviceAccountName",
        reason="FieldValueForbidden",
    ),
)

_OPEN = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_SECURITY_CONTEXT = {
    **_OPEN,
    "properties": {
        "privileged": {"type": "boolean"},
        "capabilities": {
            **_OPEN,
            "properties": {
                "add": {
                    "type": "array",
                    "maxItems": MAX_CAPABILITIES,
                    "items": {"type": "string", "maxLength": 64},
                }
            },
        },
    },
}
_CONTAINER_LIST = {
    "type": "array",
    "maxItems": MAX_CONTAINERS,
    "items": {**_OPEN, "properties": {"securityContext": _SECURITY_CONTEXT}},
}


def job_template_schema() -> dict[str, Any]:
    """The OpenAPI schema of ``spec.retraining.template`` (see the module docstring)."""
    pod_spec = {
        **_OPEN,
        "required": ["containers"],
        "properties": {
            "containers": {**_CONTAINER_LIST, "minItems": 1},
            "initContainers": _CONTAINER_LIST,
            "restartPolicy": {
                "type": "string",
                "enum": list(RESTART_POLICIES),
                "default": "Never",
            },
            "hostNetwork": {"type": "boolean"},
            "hostPID": {"type": "boolean"},
            "hostIPC": {"type": "boolean"},
            "serviceAccountName": {"type": "string"},
            "serviceAccount": {"type": "string"},
            "volumes": {
                "type": "array",
                "maxItems": MAX_VOLUMES,
                "items": {**_OPEN, "properties": {"hostPath": _OPEN}},
            },
        },
        "x-kubernetes-validations": [r.to_schema() for r in POD_RULES],
    }
    pod_template = {
        **_OPEN,
        "required": ["spec"],
        "properties": {"metadata": _OPEN, "spec": pod_spec},
    }
    job_spec = {**_OPEN, "required": ["template"], "properties": {"template": pod_template}}
    return {
        "type": "object",
        "required": ["spec"],
        "properties": {"metadata": _OPEN, "spec": job_spec},
    }


def _mapping(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(path, "must be an object")
    return dict(value)


def parse_job_template(value: Any, path: str) -> dict[str, Any]:
    """Check a JobTemplateSpec as the CRD does and return a deep copy with defaults applied."""
    template = copy.deepcopy(_mapping(value, path))
    for key in template:
        if key not in ("metadata", "spec"):
            raise SpecError(f"{path}.{key}", "unknown field (known: metadata, spec)")
    if "metadata" in template:
        _mapping(template["metadata"], f"{path}.metadata")
    job = _mapping(template.get("spec"), f"{path}.spec") if "spec" in template else None
    if job is None:
        raise SpecError(f"{path}.spec", "required value")
    if "template" not in job:
        raise SpecError(f"{path}.spec.template", "required value")
    pod_template = _mapping(job["template"], f"{path}.spec.template")
    if "spec" not in pod_template:
        raise SpecError(f"{path}.spec.template.spec", "required value")
    pod_path = f"{path}.spec.template.spec"
    pod = _mapping(pod_template["spec"], pod_path)
    containers = pod.get("containers")
    if not isinstance(containers, list) or not containers:
        raise SpecError(f"{pod_path}.containers", "required value: at least one container")
    for key in ("containers", "initContainers"):
        items = pod.get(key) or []
        if len(items) > MAX_CONTAINERS:
            raise SpecError(f"{pod_path}.{key}", f"must have at most {MAX_CONTAINERS} items")
    if len(pod.get("volumes") or []) > MAX_VOLUMES:
        raise SpecError(f"{pod_path}.volumes", f"must have at most {MAX_VOLUMES} items")
    policy = pod.setdefault("restartPolicy", "Never")
    if policy not in RESTART_POLICIES:
        raise SpecError(
            f"{pod_path}.restartPolicy", f"unsupported value {policy!r}: one of Never, OnFailure"
        )
    for rule in POD_RULES:
        if not rule.check(pod):
            raise SpecError(pod_path + (rule.field_path or ""), rule.message)
    pod_template["spec"] = pod
    job["template"] = pod_template
    template["spec"] = job
    return template
