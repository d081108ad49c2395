"""The sidecar's ConfigMap: its YAML config file and the baseline, rendered from the spec (pure).

The ConfigMap ``{monitor}-kubedrift-sidecar`` holds two keys, mounted at ``/etc/kubedrift``:
``sidecar.yaml`` (read by ``kubedrift sidecar --config``, keys as in
``kubedrift.sidecar.config``) and ``baseline.json``. A monitor of one model
(``spec.target.model``) can share its workload's sidecar with the monitors of the other models
(``kubedrift.controller.sharing``): each member's ConfigMap is one entry, mounted at
``/etc/kubedrift/{monitor}`` with its own baseline, window, sampling and token. Addresses
(listen, admin, upstream) are not in the file: they depend on the Pod IP and come as flags.
:func:`config_hash` of the data goes into a pod-template annotation, so any change (spec or
baseline) rolls the Pods, which also starts fresh windows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import yaml

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller.names import CONFIG_MOUNT_PATH, MonitorRef
from kubedrift.payloads.model import DEFAULT_EMBEDDING_WIDTH

CONFIG_FILE = "sidecar.yaml"
BASELINE_FILE = "baseline.json"
#: Environment variable of the sidecar container that holds its admin bearer token.
TOKEN_ENV = "KUBEDRIFT_SIDECAR_TOKEN"


def shares_sidecar(spec: ModelMonitorSpec) -> bool:
    """Whether the monitor's sidecar may be shared: it watches one model (``spec.target.model``)
    of a Deployment, a StatefulSet or an InferenceService (whose collector is then shared). Its
    files then live under ``/etc/kubedrift/{monitor}`` (a projected volume of every member's
    ConfigMap) and its admin token comes from :func:`member_token_env`."""
    return spec.target.model is not None


def member_token_env(monitor: str) -> str:
    """The environment variable with the admin token of ``monitor`` in a shared sidecar."""
    return f"{TOKEN_ENV}_{monitor}"


def render_sidecar_config(
    spec: ModelMonitorSpec, shadow_url: str | None = None, *, monitor: str | None = None
) -> dict[str, Any]:
    """The sidecar's config document for ``spec`` (before YAML encoding); ``shadow_url`` while
    a shadow trial runs (the candidate's Service). ``monitor``: the monitor's name, which
    places the files of a shareable sidecar (:func:`shares_sidecar`)."""
    capture = spec.capture
    shared = monitor is not None and shares_sidecar(spec)
    folder = f"{CONFIG_MOUNT_PATH}/{monitor}" if shared else CONFIG_MOUNT_PATH
    config: dict[str, Any] = {
        "mode": capture.mode,
        "protocol": capture.protocol,
        "baseline": f"{folder}/{BASELINE_FILE}",
        "sampleRate": capture.sample_rate,
        "maxSamplesPerSecond": capture.max_samples_per_second,
        "queueSize": capture.queue_size,
        "monitorPriority": capture.monitor_priority,
        "window": {
            "samples": spec.window.samples,
            "maxAge": spec.window.max_age.seconds,
            "minSamples": spec.window.min_samples,
        },
        "auth": {"tokenEnv": member_token_env(str(monitor)) if shared else TOKEN_ENV},
    }
    if spec.target.model is not None:
        config["model"] = spec.target.model
    if shadow_url is not None:
        config["shadow"] = {"url": shadow_url}
    if spec.performance is not None:
        config["labels"] = {"ttl": spec.performance.label_ttl.seconds}
    if capture.json is not None:
        paths = {
            key: value
            for key, value in (
                ("features", capture.json.features),
                ("prediction", capture.json.prediction),
                ("id", capture.json.id),
            )
            if value is not None
        }
        config["payload"] = {"json": paths}
    if capture.features is not None:
        naming: dict[str, Any] = {}
        if capture.features.positions:
            naming["positions"] = list(capture.features.positions)
        if capture.features.names:
            naming["names"] = {n.payload: n.feature for n in capture.features.names}
        config.setdefault("payload", {})["features"] = naming
    if capture.prediction_output is not None:
        config.setdefault("payload", {})["predictionOutput"] = capture.prediction_output
    if capture.probabilities is not None:
        source = {"output": capture.probabilities.output, "path": capture.probabilities.path}
        config.setdefault("payload", {})["probabilities"] = {
            key: value for key, value in source.items() if value is not None
        }
    if capture.prediction_reduce != "argmax":
        config.setdefault("payload", {})["predictionReduce"] = capture.prediction_reduce
    width = spec.drift.embeddings.min_width
    if width != DEFAULT_EMBEDDING_WIDTH:  # the default stays out: unchanged Pods do not roll
        config.setdefault("payload", {})["embeddingWidth"] = width
    if capture.classes is not None:
        payload = config.setdefault("payload", {})
        if capture.classes.from_baseline:
            payload["classesFromBaseline"] = True
        else:
            payload["classes"] = list(capture.classes.names)
    return config


def render_config_map_data(
    spec: ModelMonitorSpec,
    baseline_json: str,
    shadow_url: str | None = None,
    *,
    monitor: str | None = None,
) -> dict[str, str]:
    """The ConfigMap's ``data``: the YAML config and the baseline exactly as given."""
    rendered = render_sidecar_config(spec, shadow_url, monitor=monitor)
    return {
        CONFIG_FILE: yaml.safe_dump(rendered, sort_keys=True),
        BASELINE_FILE: baseline_json,
    }


def config_hash(data: Mapping[str, str]) -> str:
    """A short, stable hash of the ConfigMap data (16 hex digits of SHA-256)."""
    encoded = json.dumps(dict(data), sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def build_config_map(monitor: MonitorRef, data: Mapping[str, str]) -> dict[str, Any]:
    """The ConfigMap object, labelled and owned by the monitor."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": monitor.sidecar_config_map,
            "namespace": monitor.namespace,
            "labels": monitor.labels(),
            "ownerReferences": [monitor.owner_reference()],
        },
        "data": dict(data),
    }
