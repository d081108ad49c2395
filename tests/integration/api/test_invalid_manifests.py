"""Invalid ModelMonitors are rejected by the real API server with a message naming the field,
and parse_spec rejects each of them naming the same field.

Every case starts from one valid manifest and changes one thing. The server is asked to create
the object for real (no dry run); a 422 whose causes include the expected field path passes.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kubedrift.api import crd
from kubedrift.api.spec import SpecError, parse_spec

DELETE = object()
POD = "retraining.template.spec.template.spec"

VALID_SPEC: dict[str, Any] = {
    "target": {"deployment": "fraud-model", "port": 8080},
    "baseline": {"configMapRef": {"name": "fraud-baseline"}},
    "performance": {"metric": "accuracy", "threshold": 0.85},
    "retraining": {
        "triggers": ["DriftDetected"],
        "template": {
            "spec": {
                "template": {"spec": {"containers": [{"name": "train", "image": "trainer:1"}]}}
            }
        },
    },
}


def changed(changes: dict[str, Any]) -> dict[str, Any]:
    """VALID_SPEC with each dotted path set to its value (or removed for DELETE)."""
    spec = copy.deepcopy(VALID_SPEC)
    for path, value in changes.items():
        node: Any = spec
        *parents, leaf = path.split(".")
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        if value is DELETE:
            del node[leaf]
        else:
            node[leaf] = value
    return spec


def case(case_id: str, changes: dict[str, Any], field: str) -> Any:
    return pytest.param(changed(changes), f"spec.{field}", id=case_id)


CASES = [
    # target
    case("target-missing", {"target": DELETE}, "target"),
    case("target-port-missing", {"target.port": DELETE}, "target.port"),
    case("target-port-zero", {"target.port": 0}, "target.port"),
    case("target-port-above-65535", {"target.port": 70000}, "target.port"),
    case("target-port-as-string", {"target.port": "8080"}, "target.port"),
    case("deployment-not-a-dns-name", {"target.deployment": "Fraud_Model"}, "target.deployment"),
    case(
        "deployment-with-trailing-newline",
        {"target.deployment": "fraud-model\n"},
        "target.deployment",
    ),
    case("container-not-a-dns-label", {"target.container": "model.v1"}, "target.container"),
    case("service-port-without-service", {"target.servicePort": 80}, "target.servicePort"),
    case("target-kind-unknown", {"target.kind": "ReplicaSet"}, "target.kind"),
    case(
        "deployment-and-inference-service",
        {"target.inferenceService": "iris"},
        "target.inferenceService",
    ),
    case(
        "neither-deployment-nor-inference-service",
        {"target.deployment": DELETE},
        "target.inferenceService",
    ),
    case(
        "inference-service-not-a-dns-name",
        {"target.deployment": DELETE, "target.inferenceService": "Iris_Model"},
        "target.inferenceService",
    ),
    case(
        "inference-service-with-service",
        {"target.deployment": DELETE, "target.inferenceService": "iris", "target.service": "s"},
        "target.service",
    ),
    case("target-model-with-space", {"target.model": "my model"}, "target.model"),
    case("target-model-with-inner-slash", {"target.model": "a/b"}, "target.model"),
    # baseline
    case("baseline-missing", {"baseline": DELETE}, "baseline"),
    case("configmap-name-missing", {"baseline.configMapRef": {}}, "baseline.configMapRef.name"),
    case(
        "configmap-key-with-slash",
        {"baseline.configMapRef.key": "a/b"},
        "baseline.configMapRef.key",
    ),
    # capture
    case("capture-mode-unknown", {"capture.mode": "tap"}, "capture.mode"),
    case("capture-classes-empty", {"capture.classes": {}}, "capture.classes"),
    case(
        "capture-classes-twice",
        {"capture.classes": {"names": ["a"], "fromBaseline": True}},
        "capture.classes",
    ),
    case(
        "capture-feature-renamed-twice",
        {
            "capture.features.names": [
                {"payload": "x", "feature": "a"},
                {"payload": "x", "feature": "b"},
            ]
        },
        "capture.features.names[1]",
    ),
    case("capture-protocol-unknown", {"capture.protocol": "grpc"}, "capture.protocol"),
    case("capture-probabilities-empty", {"capture.probabilities": {}}, "capture.probabilities"),
    case(
        "capture-probabilities-twice",
        {"capture.probabilities": {"output": "proba", "path": "response.proba"}},
        "capture.probabilities",
    ),
    case(
        "capture-probabilities-request-path",
        {"capture.probabilities": {"path": "request.proba"}},
        "capture.probabilities.path",
    ),
    case(
        "capture-monitor-priority-unknown",
        {"capture.monitorPriority": "realtime"},
        "capture.monitorPriority",
    ),
    case("sample-rate-zero", {"capture.sampleRate": 0}, "capture.sampleRate"),
    case("sample-rate-above-one", {"capture.sampleRate": 1.5}, "capture.sampleRate"),
    case(
        "max-samples-per-second-zero",
        {"capture.maxSamplesPerSecond": 0},
        "capture.maxSamplesPerSecond",
    ),
    case("queue-size-zero", {"capture.queueSize": 0}, "capture.queueSize"),
    case("listen-port-is-model-port", {"capture.listenPort": 8080}, "capture.listenPort"),
    case("admin-port-is-model-port", {"capture.adminPort": 8080}, "capture.adminPort"),
    case("admin-port-is-listen-port", {"capture.adminPort": 8480}, "capture.adminPort"),
    case("json-protocol-without-paths", {"capture.protocol": "json"}, "capture.json"),
    case(
        "json-protocol-without-prediction",
        {"capture.protocol": "json", "capture.json": {"features": "request.rows"}},
        "capture.json",
    ),
    case("json-path-not-rooted", {"capture.json": {"features": "rows"}}, "capture.json.features"),
    # window
    case("window-samples-below-10", {"window.samples": 5}, "window.samples"),
    case(
        "min-samples-above-samples",
        {"window.samples": 50, "window.minSamples": 60},
        "window.minSamples",
    ),
    case("max-age-in-days", {"window.maxAge": "1d"}, "window.maxAge"),
    case("max-age-zero", {"window.maxAge": "0s"}, "window.maxAge"),
    # drift
    case("drift-method-unknown", {"drift.method": "mmd"}, "drift.method"),
    case("drift-threshold-zero", {"drift.threshold": 0}, "drift.threshold"),
    case(
        "ks-threshold-not-below-one",
        {"drift.method": "ks", "drift.threshold": 1.5},
        "drift.threshold",
    ),
    case("correction-unknown", {"drift.correction": "holm"}, "drift.correction"),
    case("drift-share-zero", {"drift.driftShare": 0}, "drift.driftShare"),
    case(
        "drift-embeddings-enabled-not-boolean",
        {"drift.embeddings.enabled": "yes"},
        "drift.embeddings.enabled",
    ),
    case(
        "warning-share-not-below-drift-share",
        {"drift.driftShare": 0.3, "drift.warningShare": 0.3},
        "drift.warningShare",
    ),
    case("min-effect-negative", {"drift.minEffect": -0.1}, "drift.minEffect"),
    case(
        "prediction-chi2-threshold-not-below-one",
        {"drift.prediction": {"method": "chi2", "threshold": 5}},
        "drift.prediction.threshold",
    ),
    # features
    case("feature-duplicate-name", {"features": [{"name": "a"}, {"name": "a"}]}, "features[1]"),
    case("feature-without-name", {"features": [{"method": "ks"}]}, "features[0].name"),
    case("feature-type-unknown", {"features": [{"name": "a", "type": "text"}]}, "features[0].type"),
    case(
        "feature-ks-threshold-above-one",
        {"features": [{"name": "a", "method": "ks", "threshold": 2}]},
        "features[0].threshold",
    ),
    # performance
    case("performance-metric-missing", {"performance.metric": DELETE}, "performance.metric"),
    case("performance-metric-unknown", {"performance.metric": "auc"}, "performance.metric"),
    case(
        "performance-estimated-not-bool", {"performance.estimated": "yes"}, "performance.estimated"
    ),
    case("accuracy-threshold-above-one", {"performance.threshold": 1.2}, "performance.threshold"),
    case(
        "mae-threshold-negative",
        {"performance.metric": "mae", "performance.threshold": -1},
        "performance.threshold",
    ),
    case("confidence-below-half", {"performance.confidence": 0.4}, "performance.confidence"),
    case("label-ttl-not-a-duration", {"performance.labelTTL": "forever"}, "performance.labelTTL"),
    # evaluation
    case("interval-below-5s", {"evaluation.interval": "1s"}, "evaluation.interval"),
    # retraining
    case("trigger-without-template", {"retraining.template": DELETE}, "retraining.template"),
    case("trigger-unknown", {"retraining.triggers": ["Schedule"]}, "retraining.triggers[0]"),
    case(
        "trigger-duplicate",
        {"retraining.triggers": ["DriftDetected", "DriftDetected"]},
        "retraining.triggers[1]",
    ),
    case(
        "performance-trigger-without-performance",
        {"performance": DELETE, "retraining.triggers": ["PerformanceDegraded"]},
        "retraining.triggers",
    ),
    case("cooldown-not-a-duration", {"retraining.cooldown": "6 hours"}, "retraining.cooldown"),
    case(
        "rollout-strategy-unknown",
        {"retraining.rollout": {"strategy": "blue-green"}},
        "retraining.rollout.strategy",
    ),
    case(
        "max-trial-rows-below-min-held-out",
        {
            "retraining.rollout": {"strategy": "canary", "maxTrialRows": 50},
            "retraining.promotion": {"minHeldOut": 100},
        },
        "retraining.rollout.maxTrialRows",
    ),
    case(
        "canary-of-a-statefulset",
        {"target.kind": "StatefulSet", "retraining.rollout": {"strategy": "canary"}},
        "retraining.rollout.strategy",
    ),
    case(
        "shadow-of-an-inference-service",
        {
            "target.deployment": DELETE,
            "target.inferenceService": "fraud",
            "retraining.rollout": {"strategy": "shadow"},
        },
        "retraining.rollout.strategy",
    ),
    case(
        "trial-timeout-not-a-duration",
        {"retraining.rollout": {"strategy": "canary", "trialTimeout": "a day"}},
        "retraining.rollout.trialTimeout",
    ),
    case(
        "candidate-replicas-zero",
        {"retraining.rollout": {"strategy": "canary", "candidateReplicas": 0}},
        "retraining.rollout.candidateReplicas",
    ),
    case(
        "version-env-not-a-name",
        {"retraining.rollout": {"versionEnv": "1BAD"}},
        "retraining.rollout.versionEnv",
    ),
    case("template-without-containers", {f"{POD}.containers": DELETE}, f"{POD}.containers"),
    case(
        "template-restart-policy-always", {f"{POD}.restartPolicy": "Always"}, f"{POD}.restartPolicy"
    ),
    case("template-host-network", {f"{POD}.hostNetwork": True}, f"{POD}.hostNetwork"),
    case("template-host-pid", {f"{POD}.hostPID": True}, f"{POD}.hostPID"),
    case("template-host-ipc", {f"{POD}.hostIPC": True}, f"{POD}.hostIPC"),
    case(
        "template-host-path-volume",
        {f"{POD}.volumes": [{"name": "root", "hostPath": {"path": "/"}}]},
        f"{POD}.volumes",
    ),
    case(
        "template-privileged-container",
        {f"{POD}.containers.0.securityContext": {"privileged": True}},
        f"{POD}.containers",
    ),
    case(
        "template-init-container-adds-capabilities",
        {
            f"{POD}.initContainers": [
                {"name": "i", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}
            ]
        },
        f"{POD}.initContainers",
    ),
    case(
        "template-pod-service-account",
        {f"{POD}.serviceAccountName": "admin"},
        f"{POD}.serviceAccountName",
    ),
    case(
        "service-account-not-a-dns-name",
        {"retraining.serviceAccountName": "Admin!"},
        "retraining.serviceAccountName",
    ),
    case(
        "promotion-margin-one",
        {"retraining.promotion": {"margin": 1.0}},
        "retraining.promotion.margin",
    ),
    case(
        "promotion-confidence-above-0.999",
        {"retraining.promotion": {"confidence": 0.9999}},
        "retraining.promotion.confidence",
    ),
    case(
        "promotion-min-held-out-zero",
        {"retraining.promotion": {"minHeldOut": 0}},
        "retraining.promotion.minHeldOut",
    ),
    case(
        "promotion-watch-period-not-a-duration",
        {"retraining.promotion": {"watchPeriod": "a week"}},
        "retraining.promotion.watchPeriod",
    ),
    # alerts
    case("webhook-url-not-http", {"alerts.webhook": {"url": "ftp://x"}}, "alerts.webhook.url"),
    case("webhook-without-url", {"alerts.webhook": {"timeout": "5s"}}, "alerts.webhook.url"),
    case(
        "webhook-timeout-above-60s",
        {"alerts.webhook": {"url": "https://x", "timeout": "2m"}},
        "alerts.webhook.timeout",
    ),
    case("events-not-a-boolean", {"alerts.events": "yes"}, "alerts.events"),
    # segments
    case("segments-without-feature", {"segments": {"top": 3}}, "segments.feature"),
    case("segments-feature-empty", {"segments": {"feature": ""}}, "segments.feature"),
    case("segments-top-zero", {"segments": {"feature": "country", "top": 0}}, "segments.top"),
    case("segments-top-above-20", {"segments": {"feature": "country", "top": 21}}, "segments.top"),
    case(
        "segments-more-than-20-values",
        {"segments": {"feature": "country", "values": [f"c{i}" for i in range(21)]}},
        "segments.values",
    ),
    case(
        "segments-top-and-values",
        {"segments": {"feature": "country", "top": 2, "values": ["de"]}},
        "segments.values",
    ),
    case(
        "segments-value-empty",
        {"segments": {"feature": "country", "values": ["de", ""]}},
        "segments.values",
    ),
    case(
        "segments-values-repeated",
        {"segments": {"feature": "country", "values": ["de", "de"]}},
        "segments.values[1]",
    ),
]


def test_the_base_manifest_is_valid() -> None:
    parse_spec(VALID_SPEC)


@pytest.mark.parametrize(("spec", "field"), CASES)
def test_api_server_rejects_naming_the_field(
    spec: dict[str, Any], field: str, cluster: Any, modelmonitor_crd: str, api_namespace: str
) -> None:
    from kubernetes import client  # noqa: PLC0415

    custom = client.CustomObjectsApi(cluster.api_client())
    body = {
        "apiVersion": f"{crd.GROUP}/{crd.VERSION}",
        "kind": crd.KIND,
        "metadata": {"name": "invalid"},
        "spec": spec,
    }
    with pytest.raises(client.ApiException) as caught:
        custom.create_namespaced_custom_object(
            crd.GROUP, crd.VERSION, api_namespace, crd.PLURAL, body
        )

    status = json.loads(caught.value.body)
    assert caught.value.status == 422, status
    fields = [cause.get("field") for cause in status["details"]["causes"]]
    assert field in fields, status["message"]
    assert f"{field}:" in status["message"]


@pytest.mark.parametrize(("spec", "field"), CASES)
def test_parse_spec_rejects_naming_the_same_field(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(spec)
    assert caught.value.path == field


def test_a_monitor_of_an_inference_service_needs_no_port(
    cluster: Any, modelmonitor_crd: str, api_namespace: str
) -> None:
    from kubernetes import client  # noqa: PLC0415

    spec = changed(
        {"target.deployment": DELETE, "target.port": DELETE, "target.inferenceService": "iris"}
    )
    assert parse_spec(spec).target.port is None
    body = {
        "apiVersion": f"{crd.GROUP}/{crd.VERSION}",
        "kind": crd.KIND,
        "metadata": {"name": "no-port"},
        "spec": spec,
    }
    custom = client.CustomObjectsApi(cluster.api_client())
    created = custom.create_namespaced_custom_object(
        crd.GROUP, crd.VERSION, api_namespace, crd.PLURAL, body
    )
    assert "port" not in created["spec"]["target"]
