"""Several monitors of one InferenceService, one model each, share its one collector
(``kubedrift.controller.collector_sharing``): the collector Deployment reads every member's
files and tokens, is owned by every member, and a second monitor of the same model is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller.collector_sharing import (
    collector_holder,
    member_owners,
    plan_collector_members,
    served_inference_service,
    shared_collector,
    shared_collector_service,
)
from kubedrift.controller.injection import InjectionError
from kubedrift.controller.names import MEMBERS_ANNOTATION, SIDECAR_CONTAINER, MonitorRef
from kubedrift.controller.sharing import joined_members, members_of
from support.controller_samples import OPTIONS, make_spec

IRIS = MonitorRef("ml", "iris", "uid-iris")
WINE = MonitorRef("ml", "wine", "uid-wine")
TARGET = "InferenceService zoo"


def spec_of(model: str, **capture: Any) -> ModelMonitorSpec:
    return make_spec(
        target={"inferenceService": "zoo", "model": model},
        capture=capture or None,
        retraining=None,
    )


def two_members() -> dict[str, dict[str, Any]]:
    first = joined_members({}, spec_of("iris"), IRIS, "h-iris", TARGET)
    return joined_members(first, spec_of("wine"), WINE, "h-wine", TARGET)


def test_the_collector_of_two_members_reads_each_members_config_and_token() -> None:
    members = two_members()
    owners = member_owners(None, members, IRIS) + member_owners(None, members, WINE)
    body = shared_collector(IRIS, spec_of("wine"), OPTIONS, members, owners)

    assert body["metadata"]["name"] == "iris-kubedrift-collector"
    assert members_of(body) == members
    container = body["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == SIDECAR_CONTAINER
    args = container["args"]
    assert args[args.index("--config") + 1] == "/etc/kubedrift/iris/sidecar.yaml"
    assert args[args.index("--model-config") + 1] == "/etc/kubedrift/wine/sidecar.yaml"
    assert args[args.index("--mode") + 1] == "mirror"
    tokens = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in container["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert tokens == {"iris-kubedrift-token", "wine-kubedrift-token"}
    (volume,) = body["spec"]["template"]["spec"]["volumes"]
    maps = [source["configMap"]["name"] for source in volume["projected"]["sources"]]
    assert maps == ["iris-kubedrift-sidecar", "wine-kubedrift-sidecar"]


def test_every_member_owns_the_collector_and_none_is_its_controller() -> None:
    members = two_members()
    owners = member_owners(None, {"iris": {}}, IRIS)
    found = {"metadata": {"ownerReferences": owners}}
    both = member_owners(found, members, WINE)
    assert [(o["name"], o["uid"], o["controller"]) for o in both] == [
        ("iris", "uid-iris", False),
        ("wine", "uid-wine", False),
    ]
    service = shared_collector_service(IRIS, spec_of("iris"), both)
    assert [o["name"] for o in service["metadata"]["ownerReferences"]] == ["iris", "wine"]
    # A member that leaves is no owner any more: the collector stays for the others.
    left = member_owners({"metadata": {"ownerReferences": both}}, {"wine": {}}, None)
    assert [o["name"] for o in left] == ["wine"]


def test_a_second_monitor_of_the_same_model_is_refused_with_the_reason() -> None:
    members = joined_members({}, spec_of("iris"), IRIS, "h", TARGET)
    with pytest.raises(InjectionError) as refused:
        joined_members(members, spec_of("iris"), WINE, "h2", TARGET)
    assert refused.value.reason == "TargetAlreadyMonitored"
    assert "model iris of InferenceService zoo is already monitored by ModelMonitor iris" in str(
        refused.value
    )


def test_members_with_different_sidecar_settings_are_refused() -> None:
    members = joined_members({}, spec_of("iris"), IRIS, "h", TARGET)
    with pytest.raises(InjectionError) as refused:
        joined_members(members, spec_of("wine", adminPort=9100), WINE, "h2", TARGET)
    assert refused.value.reason == "SidecarSettingsDiffer"


def test_a_collector_with_all_it_needs_gets_no_patch_and_a_new_member_gets_one() -> None:
    members = joined_members({}, spec_of("iris"), IRIS, "h", TARGET)
    owners = member_owners(None, members, IRIS)
    body = shared_collector(IRIS, spec_of("iris"), OPTIONS, members, owners)
    stored = json.loads(json.dumps(body))
    stored["spec"]["progressDeadlineSeconds"] = 600  # an API server default
    assert plan_collector_members(stored, body) is None

    grown = two_members()
    wanted = shared_collector(
        IRIS, spec_of("wine"), OPTIONS, grown, member_owners(stored, grown, WINE)
    )
    patch = plan_collector_members(stored, wanted)
    assert patch is not None
    assert json.loads(patch["metadata"]["annotations"][MEMBERS_ANNOTATION]) == grown
    assert [o["name"] for o in patch["metadata"]["ownerReferences"]] == ["iris", "wine"]


def test_a_shared_collector_records_the_inference_service_it_serves() -> None:
    members = two_members()
    body = shared_collector(IRIS, spec_of("iris"), OPTIONS, members, [])
    assert served_inference_service(body) == "zoo"
    assert served_inference_service({"metadata": {}}) is None


def test_the_holder_is_the_monitor_the_inference_service_names() -> None:
    assert collector_holder({"metadata": {}}) is None
    isvc = {"metadata": {"annotations": {"kubedrift.io/monitor": "iris"}}}
    assert collector_holder(isvc) == "iris"
