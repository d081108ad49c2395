"""The operator's retraining-Job policy: what the CRD cannot refuse, the operator does."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller.job_policy import JobPolicy, PolicyViolationError
from support.controller_samples import SPEC, make_spec

POD = "spec.retraining.template.spec.template.spec"
TRAINERS = JobPolicy(allowed_service_accounts=frozenset({"trainer", "batch-trainer"}))


def retraining(account: str | None = None, **pod: Any) -> dict[str, Any]:
    """SPEC's retraining section with ``pod`` merged into the Job's Pod spec."""
    section = copy.deepcopy(SPEC["retraining"])
    section["template"]["spec"]["template"]["spec"].update(pod)
    if account is not None:
        section["serviceAccountName"] = account
    return dict(section)


def with_container_context(**context: Any) -> ModelMonitorSpec:
    section = retraining()
    section["template"]["spec"]["template"]["spec"]["containers"][0]["securityContext"] = context
    return make_spec(retraining=section)


def test_job_without_service_account_runs_as_the_namespace_default_and_is_allowed() -> None:
    assert JobPolicy().violations(make_spec()) == []


def test_monitor_without_retraining_has_nothing_to_check() -> None:
    assert JobPolicy().violations(make_spec(retraining=None)) == []


def test_service_account_on_the_allow_list_is_allowed() -> None:
    assert TRAINERS.violations(make_spec(retraining=retraining("trainer"))) == []


def test_service_account_off_the_allow_list_is_refused_naming_the_allowed_ones() -> None:
    assert TRAINERS.violations(make_spec(retraining=retraining("cluster-admin"))) == [
        "spec.retraining.serviceAccountName: 'cluster-admin' is not on the operator's allow-list "
        "(allowed: batch-trainer, trainer)"
    ]


def test_empty_allow_list_refuses_every_named_service_account() -> None:
    assert JobPolicy().violations(make_spec(retraining=retraining("trainer"))) == [
        "spec.retraining.serviceAccountName: 'trainer' is not on the operator's allow-list "
        "(allowed: none)"
    ]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"runAsUser": 0}, "runAsUser: running as root (0) is not allowed"),
        ({"allowPrivilegeEscalation": True}, "allowPrivilegeEscalation: must not be true"),
        (
            {"seccompProfile": {"type": "Unconfined"}},
            "seccompProfile.type: Unconfined is not allowed",
        ),
        ({"procMount": "Unmasked"}, "procMount: Unmasked is not allowed"),
    ],
)
def test_container_asking_for_more_than_restricted_allows_is_refused(
    context: dict[str, Any], message: str
) -> None:
    assert JobPolicy().violations(with_container_context(**context)) == [
        f"{POD}.containers[0].securityContext.{message}"
    ]


def test_restricted_container_context_is_allowed() -> None:
    spec = with_container_context(
        runAsUser=1000,
        runAsNonRoot=True,
        allowPrivilegeEscalation=False,
        seccompProfile={"type": "RuntimeDefault"},
        procMount="Default",
    )
    assert JobPolicy().violations(spec) == []


def test_pod_level_root_and_init_container_escalation_are_both_named() -> None:
    section = retraining(
        securityContext={"runAsUser": 0},
        initContainers=[
            {
                "name": "fetch",
                "image": "busybox",
                "securityContext": {"allowPrivilegeEscalation": True},
            }
        ],
    )
    assert JobPolicy().violations(make_spec(retraining=section)) == [
        f"{POD}.securityContext.runAsUser: running as root (0) is not allowed",
        f"{POD}.initContainers[0].securityContext.allowPrivilegeEscalation: must not be true",
    ]


def test_check_raises_with_every_violation_in_one_message() -> None:
    section = retraining("admin", securityContext={"runAsUser": 0})
    with pytest.raises(PolicyViolationError) as raised:
        TRAINERS.check(make_spec(retraining=section))
    assert str(raised.value) == (
        "spec.retraining.serviceAccountName: 'admin' is not on the operator's allow-list "
        f"(allowed: batch-trainer, trainer); {POD}.securityContext.runAsUser: running as root (0) "
        "is not allowed"
    )
