"""Pod phase, conditions and container statuses as the node stand-in reports them."""

from __future__ import annotations

from typing import Any

import pytest

from kubedrift_dev.devcluster.node.podstatus import (
    ContainerRecord,
    Terminated,
    build_status,
    container_status,
    pod_phase,
    should_restart,
    timestamp,
)

T0 = 1_800_000_000.0


def running(name: str = "c", *, ready: bool = True) -> ContainerRecord:
    return ContainerRecord(name, "img", state="running", started_at=T0, ready=ready, started=True)


def ended(code: int, name: str = "c") -> ContainerRecord:
    return ContainerRecord(name, "img", state="terminated",
                           terminated=Terminated(code, T0, T0 + 5))  # fmt: skip


def waiting(name: str = "c", *, restarted: bool = False) -> ContainerRecord:
    last = Terminated(1, T0, T0 + 1) if restarted else None
    return ContainerRecord(name, "img", reason="CrashLoopBackOff" if restarted else
                           "ContainerCreating", last_terminated=last)  # fmt: skip


@pytest.mark.parametrize(
    ("policy", "code", "expected"),
    [("Always", 0, True), ("Always", 2, True), ("OnFailure", 0, False), ("OnFailure", 2, True),
     ("Never", 0, False), ("Never", 2, False)],
)  # fmt: skip
def test_should_restart_follows_the_restart_policy(policy: str, code: int, expected: bool) -> None:
    assert should_restart(policy, code) is expected


@pytest.mark.parametrize(
    ("policy", "records", "expected"),
    [
        ("Always", [waiting()], "Pending"),
        ("Always", [running(), waiting("d")], "Pending"),
        ("Always", [running(), ended(0, "d")], "Running"),
        ("Always", [waiting(restarted=True)], "Running"),
        ("Never", [ended(0), ended(0, "d")], "Succeeded"),
        ("Never", [ended(0), ended(1, "d")], "Failed"),
        ("OnFailure", [ended(0)], "Succeeded"),
        ("OnFailure", [waiting(restarted=True)], "Running"),
        ("Never", [running(), ended(1, "d")], "Running"),
    ],
)
def test_phase_of_regular_containers(
    policy: str, records: list[ContainerRecord], expected: str
) -> None:
    assert pod_phase(policy, [], records) == expected


def test_phase_is_pending_until_init_containers_succeed_and_failed_when_one_fails_for_good() -> (
    None
):
    assert pod_phase("Never", [ended(0, "i1"), running("i2")], [waiting()]) == "Pending"
    assert pod_phase("OnFailure", [waiting("i1", restarted=True)], [waiting()]) == "Pending"
    assert pod_phase("Never", [ended(1, "i1")], [waiting()]) == "Failed"
    assert pod_phase("Never", [ended(0, "i1")], [running()]) == "Running"


def test_a_pod_being_deleted_ends_failed_unless_every_container_succeeded() -> None:
    assert pod_phase("Always", [], [ended(137)], stopping=True) == "Failed"
    assert pod_phase("Always", [], [ended(0)], stopping=True) == "Succeeded"
    assert pod_phase("Always", [], [waiting()], stopping=True) == "Failed"


def test_container_status_of_a_restarted_container_shows_its_last_run() -> None:
    record = ContainerRecord(
        "web",
        "python:3.11",
        state="running",
        started_at=T0 + 10,
        container_id="kubedrift://abc-web-2",
        restart_count=1,
        ready=True,
        started=True,
        last_terminated=Terminated(2, T0, T0 + 3, "boom"),
    )
    assert container_status(record) == {
        "name": "web",
        "image": "python:3.11",
        "imageID": "",
        "containerID": "kubedrift://abc-web-2",
        "ready": True,
        "started": True,
        "restartCount": 1,
        "state": {"running": {"startedAt": timestamp(T0 + 10)}},
        "lastState": {"terminated": {"exitCode": 2, "reason": "Error", "message": "boom",
                                     "startedAt": timestamp(T0),
                                     "finishedAt": timestamp(T0 + 3)}},
    }  # fmt: skip


def test_signal_deaths_report_the_signal() -> None:
    status = container_status(
        ContainerRecord(
            "c", "i", state="terminated", terminated=Terminated(137, T0, T0 + 1, signal=9)
        )
    )
    assert status["state"]["terminated"]["signal"] == 9
    assert status["state"]["terminated"]["reason"] == "Error"


def conditions_of(status: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {c["type"]: (c["status"], c.get("reason")) for c in status["conditions"]}


def pod(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "spec": {"restartPolicy": "Always"}, "status": status}


def test_ready_needs_every_container_ready() -> None:
    status = build_status(
        pod(),
        [],
        [running("a"), running("b", ready=False)],
        pod_ip="127.0.1.2",
        host_ip="127.0.0.1",
        start_time=T0,
        now=T0,
    )
    assert status["phase"] == "Running"
    assert status["podIP"] == "127.0.1.2"
    assert status["podIPs"] == [{"ip": "127.0.1.2"}]
    assert conditions_of(status) == {
        "PodReadyToStartContainers": ("True", None),
        "Initialized": ("True", None),
        "ContainersReady": ("False", "ContainersNotReady"),
        "Ready": ("False", "ContainersNotReady"),
        "PodScheduled": ("True", None),
    }
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["message"] == "containers with unready status: [b]"


def test_completed_pods_are_not_ready_with_reason_pod_completed() -> None:
    status = build_status(pod(), [], [ended(0)], pod_ip="127.0.1.2", host_ip="127.0.0.1",
                          start_time=T0, now=T0)  # fmt: skip
    assert status["phase"] == "Running"  # restartPolicy Always: it will run again
    never = {"metadata": {}, "spec": {"restartPolicy": "Never"}}
    status = build_status(never, [], [ended(0)], pod_ip="127.0.1.2", host_ip="127.0.0.1",
                          start_time=T0, now=T0)  # fmt: skip
    assert status["phase"] == "Succeeded"
    assert conditions_of(status)["Ready"] == ("False", "PodCompleted")


def test_transition_time_moves_only_when_a_condition_flips_and_foreign_ones_are_kept() -> None:
    before = {"type": "Ready", "status": "True", "lastTransitionTime": timestamp(T0)}
    foreign = {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI"}
    kept = build_status(pod(conditions=[before, foreign]), [], [running()], pod_ip="127.0.1.2",
                        host_ip="127.0.0.1", start_time=T0, now=T0 + 60)  # fmt: skip
    flipped = build_status(pod(conditions=[before]), [], [running(ready=False)],
                           pod_ip="127.0.1.2", host_ip="127.0.0.1", start_time=T0,
                           now=T0 + 60)  # fmt: skip

    def ready(status: dict[str, Any]) -> dict[str, Any]:
        return next(c for c in status["conditions"] if c["type"] == "Ready")

    assert ready(kept)["lastTransitionTime"] == timestamp(T0)
    assert ready(flipped)["lastTransitionTime"] == timestamp(T0 + 60)
    assert foreign in kept["conditions"]


def test_readiness_gates_hold_ready_back_until_their_condition_is_true() -> None:
    gated = {"metadata": {}, "spec": {"readinessGates": [{"conditionType": "example.com/ok"}]},
             "status": {"conditions": []}}  # fmt: skip
    status = build_status(gated, [], [running()], pod_ip="127.0.1.2", host_ip="127.0.0.1",
                          start_time=T0, now=T0)  # fmt: skip
    assert conditions_of(status)["Ready"] == ("False", "ReadinessGatesNotReady")
    assert conditions_of(status)["ContainersReady"] == ("True", None)
