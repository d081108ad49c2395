"""The collector of an InferenceService: its Deployment and Service, and the logger it takes
over and gives back (``spec.target.inferenceService``)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller.collector import (
    COLLECTOR_LABEL,
    ORIGINAL_LOGGER_ANNOTATION,
    build_collector_deployment,
    build_collector_service,
    check_collector_name,
    collector_spec,
    collector_url,
    plan_collector_update,
    plan_logger,
    plan_logger_restore,
    sidecar_workload_path,
)
from kubedrift.controller.injection import (
    RESTRICTED_SECURITY_CONTEXT,
    InjectionError,
    build_sidecar_container,
)
from kubedrift.controller.names import (
    CONFIG_HASH_ANNOTATION,
    MONITOR_ANNOTATION,
    SIDECAR_CONTAINER,
    MonitorRef,
)
from kubedrift.controller.sidecar_config import render_sidecar_config
from support.controller_samples import MONITOR, OPTIONS, make_spec

URL = "http://fraud-kubedrift-collector.ml.svc:8480"


@pytest.fixture
def isvc_spec() -> ModelMonitorSpec:
    return make_spec(target={"inferenceService": "fraud", "port": 8080}, retraining=None)


def inference_service(
    logger: dict[str, Any] | None = None, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    predictor: dict[str, Any] = {"sklearn": {"storageUri": "gs://models/fraud"}}
    if logger is not None:
        predictor["logger"] = logger
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "fraud", "namespace": "ml", "annotations": annotations or {}},
        "spec": {"predictor": predictor},
    }


def merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch, as the API server applies it to a custom resource."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


def test_collector_is_the_mirror_mode_sidecar_with_the_monitors_config_and_token(
    isvc_spec: ModelMonitorSpec,
) -> None:
    deployment = build_collector_deployment(MONITOR, isvc_spec, OPTIONS, "abc123")
    template = deployment["spec"]["template"]
    (container,) = template["spec"]["containers"]
    injected = build_sidecar_container(collector_spec(isvc_spec), MONITOR, OPTIONS)
    assert container == {**injected, "args": [*injected["args"], "--mode", "mirror"]}
    assert container["name"] == SIDECAR_CONTAINER
    assert "--upstream" not in container["args"]
    assert container["securityContext"] == {**RESTRICTED_SECURITY_CONTEXT, "runAsUser": 65534}
    assert template["spec"]["volumes"] == [
        {"name": "kubedrift-config", "configMap": {"name": "fraud-kubedrift-sidecar"}}
    ]
    assert template["spec"]["automountServiceAccountToken"] is False
    assert template["metadata"]["annotations"] == {CONFIG_HASH_ANNOTATION: "abc123"}
    assert deployment["spec"]["replicas"] == 1  # both halves of an exchange meet in one Pod
    assert deployment["spec"]["selector"] == {"matchLabels": {COLLECTOR_LABEL: "fraud"}}
    assert deployment["metadata"]["ownerReferences"] == [MONITOR.owner_reference()]
    assert deployment["metadata"]["name"] == "fraud-kubedrift-collector"


def test_collector_config_says_mirror_whatever_capture_mode_says(
    isvc_spec: ModelMonitorSpec,
) -> None:
    assert isvc_spec.capture.mode == "proxy"  # the default
    assert render_sidecar_config(collector_spec(isvc_spec))["mode"] == "mirror"


def test_collector_service_exposes_the_listen_port_to_the_collector_pods_only(
    isvc_spec: ModelMonitorSpec,
) -> None:
    service = build_collector_service(MONITOR, isvc_spec)
    assert service["spec"] == {
        "selector": {COLLECTOR_LABEL: "fraud"},
        "ports": [{"name": "kd-traffic", "port": 8480, "targetPort": 8480, "protocol": "TCP"}],
    }
    assert service["metadata"]["ownerReferences"] == [MONITOR.owner_reference()]
    assert collector_url(MONITOR, isvc_spec) == URL


def test_evaluation_and_feedback_find_the_collector_instead_of_a_target_workload(
    isvc_spec: ModelMonitorSpec, spec: ModelMonitorSpec
) -> None:
    assert sidecar_workload_path(MONITOR, isvc_spec) == (
        "/apis/apps/v1/namespaces/ml/deployments/fraud-kubedrift-collector"
    )
    assert sidecar_workload_path(MONITOR, spec) == (
        "/apis/apps/v1/namespaces/ml/deployments/fraud-model"
    )


def test_a_monitor_name_too_long_for_the_collector_service_is_refused() -> None:
    check_collector_name(MonitorRef("ml", "a" * 43, "u"))
    with pytest.raises(InjectionError) as caught:
        check_collector_name(MonitorRef("ml", "a" * 44, "u"))
    assert caught.value.reason == "CollectorNameTooLong"


def test_existing_collector_is_left_alone_when_it_has_everything(
    isvc_spec: ModelMonitorSpec,
) -> None:
    desired = build_collector_deployment(MONITOR, isvc_spec, OPTIONS, "abc123")
    found = copy.deepcopy(desired)
    found["spec"]["template"]["spec"]["dnsPolicy"] = "ClusterFirst"  # a server default
    assert plan_collector_update(found, desired) is None
    changed = build_collector_deployment(MONITOR, isvc_spec, OPTIONS, "def456")
    patch = plan_collector_update(found, changed)
    assert patch is not None
    assert patch["spec"]["template"]["metadata"]["annotations"] == {
        CONFIG_HASH_ANNOTATION: "def456"
    }


@pytest.mark.parametrize(
    "original",
    [
        pytest.param(None, id="no-logger"),
        pytest.param({"mode": "request", "url": "http://dumper.ml"}, id="other-logger"),
        pytest.param({"url": "http://dumper.ml", "metadataHeaders": ["x-team"]}, id="headers"),
    ],
)
def test_logger_is_taken_over_and_restored_exactly(original: dict[str, Any] | None) -> None:
    isvc = inference_service(original)
    patch = plan_logger(isvc, MONITOR, URL)
    assert patch is not None
    taken = merge(isvc, patch)
    assert taken["spec"]["predictor"]["logger"] == {**(original or {}), "mode": "all", "url": URL}
    assert taken["metadata"]["annotations"] == {
        MONITOR_ANNOTATION: "fraud",
        ORIGINAL_LOGGER_ANNOTATION: json.dumps(original, sort_keys=True),
    }
    assert plan_logger(taken, MONITOR, URL) is None  # the next round changes nothing

    restore = plan_logger_restore(taken, MONITOR)
    assert restore is not None
    assert merge(taken, restore) == isvc


def test_logger_changed_by_hand_is_pointed_back_without_forgetting_the_original() -> None:
    isvc = inference_service({"mode": "request", "url": "http://dumper.ml"})
    taken = merge(isvc, plan_logger(isvc, MONITOR, URL))
    edited = merge(taken, {"spec": {"predictor": {"logger": {"url": "http://elsewhere"}}}})
    patch = plan_logger(edited, MONITOR, URL)
    assert patch == {"spec": {"predictor": {"logger": {"mode": "all", "url": URL}}}}
    again = merge(edited, patch)
    assert merge(again, plan_logger_restore(again, MONITOR)) == isvc


def test_inference_service_of_another_monitor_is_refused_and_not_restored() -> None:
    isvc = inference_service(annotations={MONITOR_ANNOTATION: "other"})
    with pytest.raises(InjectionError) as caught:
        plan_logger(isvc, MONITOR, URL)
    assert caught.value.reason == "TargetAlreadyMonitored"
    assert plan_logger_restore(isvc, MONITOR) is None


def test_inference_service_never_taken_needs_no_restore() -> None:
    assert plan_logger_restore(inference_service({"url": "http://dumper.ml"}), MONITOR) is None
