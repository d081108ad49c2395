"""The retraining Job's result contract, and the rollout it leads to (pure).

A retraining Job reports its result in its container's termination message (write it to
``/dev/termination-log``; Kubernetes keeps up to 4 KiB), as JSON::

    {"modelVersion": "2", "baseline": {"configMap": "fraud-baseline-v2", "key": "baseline.json"}}

``modelVersion`` (a non-empty string) is required; ``baseline`` is optional and names a
ConfigMap in the monitor's namespace with the new model's training profile (``key`` defaults to
``baseline.json``). With ``spec.retraining.promotion`` the result must also carry ``heldOut``,
both models' per-row correctness on the same held-out labeled rows, as strings of ``1``
(right) and ``0`` (wrong) of equal length::

    {"modelVersion": "2", "heldOut": {"serving": "0110...", "candidate": "1110..."}}

(4 KiB hold about 1900 such rows.) With ``spec.retraining.rollout.strategy: restart`` the
operator sets ``versionEnv`` on the target container to the new version
(:func:`plan_version_rollout`), which rolls the Pods; the model server reads the variable and
loads that version.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller.injection import target_container
from kubedrift.controller.names import MODEL_VERSION_ANNOTATION


class ResultError(ValueError):
    """The Job's termination message is missing or breaks the contract."""


@dataclass(frozen=True)
class BaselineRef:
    config_map: str
    key: str = "baseline.json"


@dataclass(frozen=True)
class HeldOutScores:
    """Per-row correctness of the serving model and of the candidate on the same rows."""

    serving: tuple[bool, ...]
    candidate: tuple[bool, ...]


@dataclass(frozen=True)
class RetrainingResult:
    """What a successful retraining Job produced."""

    model_version: str
    baseline: BaselineRef | None = None
    held_out: HeldOutScores | None = None


def parse_result(message: str) -> RetrainingResult:
    """Parse a termination message; :class:`ResultError` says what is wrong with it."""
    try:
        data = json.loads(message)
    except json.JSONDecodeError as error:
        raise ResultError(f"termination message is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise ResultError("termination message must be a JSON object")
    version = data.get("modelVersion")
    if not isinstance(version, str) or not version:
        raise ResultError("termination message needs modelVersion, a non-empty string")
    held_out = _held_out(data["heldOut"]) if "heldOut" in data else None
    baseline = data.get("baseline")
    if baseline is None:
        return RetrainingResult(version, held_out=held_out)
    if not isinstance(baseline, dict) or not isinstance(baseline.get("configMap"), str):
        raise ResultError("baseline must be an object with configMap (a string)")
    key = baseline.get("key", "baseline.json")
    if not isinstance(key, str) or not key:
        raise ResultError("baseline.key must be a non-empty string")
    return RetrainingResult(version, BaselineRef(baseline["configMap"], key), held_out)


def _held_out(value: Any) -> HeldOutScores:
    if not isinstance(value, dict):
        raise ResultError("heldOut must be an object with serving and candidate")
    scores: list[tuple[bool, ...]] = []
    for name in ("serving", "candidate"):
        text = value.get(name)
        if not isinstance(text, str) or set(text) - {"0", "1"}:
            raise ResultError(f"heldOut.{name} must be a string of 0 and 1, one per row")
        scores.append(tuple(char == "1" for char in text))
    if len(scores[0]) != len(scores[1]):
        raise ResultError(
            f"heldOut.serving and heldOut.candidate must score the same rows "
            f"({len(scores[0])} and {len(scores[1])} given)"
        )
    return HeldOutScores(scores[0], scores[1])


def termination_message(pods: Iterable[Mapping[str, Any]]) -> str:
    """The termination message of the Job's successfully terminated container.

    Pods of a Job that retried may have failed first; only a container that exited 0 counts.
    """
    for pod in pods:
        for status in pod.get("status", {}).get("containerStatuses") or []:
            terminated = (status.get("state") or {}).get("terminated") or {}
            if terminated.get("exitCode") == 0 and terminated.get("message"):
                return str(terminated["message"])
    raise ResultError("no container of the Job exited 0 with a termination message")


def plan_version_rollout(
    deployment: Mapping[str, Any], spec: ModelMonitorSpec, version: str
) -> dict[str, Any] | None:
    """A strategic merge patch setting the version env var, or ``None`` when nothing changes.

    Also records the version in a pod-template annotation, so the operator can tell Pods that
    run the new model from those still draining.
    """
    if spec.retraining is None or spec.retraining.rollout.strategy == "none":
        return None
    env_name = spec.retraining.rollout.version_env
    container = target_container(deployment, spec)
    current = {e.get("name"): e.get("value") for e in container.get("env") or []}
    annotations = (
        deployment.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations") or {}
    )
    if current.get(env_name) == version and annotations.get(MODEL_VERSION_ANNOTATION) == version:
        return None
    return {
        "spec": {
            "template": {
                "metadata": {"annotations": {MODEL_VERSION_ANNOTATION: version}},
                "spec": {
                    "containers": [
                        {"name": container["name"], "env": [{"name": env_name, "value": version}]}
                    ]
                },
            }
        }
    }


def current_model_version(deployment: Mapping[str, Any], spec: ModelMonitorSpec) -> str | None:
    """The version the target container runs now (its ``versionEnv`` value), if any."""
    if spec.retraining is None:
        return None
    env_name = spec.retraining.rollout.version_env
    for entry in target_container(deployment, spec).get("env") or []:
        if entry.get("name") == env_name and "value" in entry:
            return str(entry["value"])
    return None
