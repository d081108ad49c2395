"""The Pod status the stand-in reports, built from its record of each container (pure).

The rules follow the kubelet: a Pod is Pending until its init containers are done and every
container has started at least once; Running while any container runs or will be restarted;
Succeeded when every container ended with 0 and none will restart; Failed when they all ended,
none will restart and one failed. Conditions (PodReadyToStartContainers, Initialized,
ContainersReady, Ready, PodScheduled) keep their ``lastTransitionTime`` while their status does
not change; conditions owned by other components (e.g. DisruptionTarget) are carried over.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_OWN_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready")


@dataclass(frozen=True)
class Terminated:
    """How one run of a container ended."""

    exit_code: int
    started_at: float
    finished_at: float
    message: str = ""
    signal: int | None = None
    container_id: str = ""

    @property
    def reason(self) -> str:
        return "Completed" if self.exit_code == 0 else "Error"


@dataclass
class ContainerRecord:
    """What the stand-in knows about one container: its current state and its history.

    ``state`` is ``waiting`` (with ``reason``/``message``), ``running`` (since ``started_at``)
    or ``terminated`` (``terminated`` holds how); ``last_terminated`` is the previous run.
    """

    name: str
    image: str
    state: str = "waiting"
    reason: str = "ContainerCreating"
    message: str = ""
    started_at: float | None = None
    container_id: str = ""
    terminated: Terminated | None = None
    last_terminated: Terminated | None = None
    restart_count: int = 0
    ready: bool = False
    started: bool = False


def should_restart(restart_policy: str, exit_code: int) -> bool:
    """Whether a container that exited with ``exit_code`` is started again."""
    return restart_policy == "Always" or (restart_policy == "OnFailure" and exit_code != 0)


def timestamp(seconds: float) -> str:
    """RFC 3339 in UTC with second precision, as the API stores ``metav1.Time``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def container_status(record: ContainerRecord) -> dict[str, Any]:
    """One entry of ``containerStatuses`` / ``initContainerStatuses``."""
    status: dict[str, Any] = {
        "name": record.name,
        "image": record.image,
        "imageID": "",
        "ready": record.ready,
        "started": record.state == "running" and record.started,
        "restartCount": record.restart_count,
        "state": _state(record),
        "lastState": {"terminated": _terminated(record.last_terminated)}
        if record.last_terminated
        else {},
    }
    if record.container_id:
        status["containerID"] = record.container_id
    return status


def pod_phase(
    restart_policy: str,
    init_records: Sequence[ContainerRecord],
    records: Sequence[ContainerRecord],
    *,
    stopping: bool = False,
) -> str:
    """The Pod's phase. ``stopping``: the Pod is being deleted, so nothing will restart."""
    for record in init_records:
        failed = record.state == "terminated" and record.terminated and record.terminated.exit_code
        if failed and (restart_policy == "Never" or stopping):
            return "Failed"
        if not (record.state == "terminated" and record.terminated and not
                record.terminated.exit_code):  # fmt: skip
            return "Pending"
    waiting = running = stopped = succeeded = 0
    for record in records:
        if record.state == "running":
            running += 1
        elif record.state == "terminated" and record.terminated is not None:
            stopped += 1
            succeeded += record.terminated.exit_code == 0
        elif record.last_terminated is not None:
            stopped += 1
        else:
            waiting += 1
    if waiting and not stopping:
        return "Pending"
    if running or (restart_policy == "Always" and not stopping):
        return "Running"
    if stopped == len(records) and succeeded == len(records):
        return "Succeeded"
    if stopping or restart_policy == "Never":
        return "Failed"
    return "Running"


def build_status(
    pod: Mapping[str, Any],
    init_records: Sequence[ContainerRecord],
    records: Sequence[ContainerRecord],
    *,
    pod_ip: str,
    host_ip: str,
    start_time: float,
    now: float,
    sandbox_ready: bool = True,
    stopping: bool = False,
) -> dict[str, Any]:
    """The whole ``status`` to write for ``pod`` (merge-patched over the current one)."""
    spec = pod.get("spec", {})
    phase = pod_phase(spec.get("restartPolicy", "Always"), init_records, records,
                      stopping=stopping)  # fmt: skip
    initialized = all(
        r.state == "terminated" and r.terminated and r.terminated.exit_code == 0
        for r in init_records
    )
    terminal = phase in ("Succeeded", "Failed")
    unready = [r.name for r in records if not r.ready]
    incomplete = [r.name for r in init_records if not (r.terminated and r.state == "terminated")]
    gates = [g["conditionType"] for g in spec.get("readinessGates") or []]
    previous = {c["type"]: c for c in pod.get("status", {}).get("conditions") or []}
    gates_open = all(previous.get(g, {}).get("status") == "True" for g in gates)

    wanted: list[tuple[str, bool, str, str]] = [
        ("PodReadyToStartContainers", sandbox_ready, "", ""),
        ("Initialized", initialized, "ContainersNotInitialized",
         f"containers with incomplete status: [{' '.join(incomplete)}]"),
        ("ContainersReady", not unready and not terminal,
         "PodCompleted" if terminal else "ContainersNotReady",
         "" if terminal else f"containers with unready status: [{' '.join(unready)}]"),
        ("Ready", not unready and not terminal and gates_open,
         "PodCompleted" if terminal else
         ("ContainersNotReady" if unready else "ReadinessGatesNotReady"),
         "" if terminal else f"containers with unready status: [{' '.join(unready)}]"),
        ("PodScheduled", True, "", ""),
    ]  # fmt: skip
    conditions = [
        c for c in previous.values() if c["type"] not in (*_OWN_CONDITIONS, "PodScheduled")
    ]
    for type_, ok, reason, message in wanted:
        conditions.append(
            _condition(
                type_, ok, reason=reason, message=message, previous=previous.get(type_), now=now
            )
        )
    return {
        "phase": phase,
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": timestamp(start_time),
        "initContainerStatuses": [container_status(r) for r in init_records] or None,
        "containerStatuses": [container_status(r) for r in records],
    }


def _condition(
    type_: str,
    ok: bool,
    *,
    reason: str,
    message: str,
    previous: Mapping[str, Any] | None,
    now: float,
) -> dict[str, Any]:
    status = "True" if ok else "False"
    condition: dict[str, Any] = {"type": type_, "status": status}
    if previous is not None and previous.get("status") == status:
        condition["lastTransitionTime"] = previous.get("lastTransitionTime") or timestamp(now)
    else:
        condition["lastTransitionTime"] = timestamp(now)
    condition["lastProbeTime"] = None
    if not ok:
        condition["reason"] = reason
        if message:
            condition["message"] = message
    return condition


def _state(record: ContainerRecord) -> dict[str, Any]:
    if record.state == "running":
        return {"running": {"startedAt": timestamp(record.started_at or 0.0)}}
    if record.state == "terminated" and record.terminated is not None:
        return {"terminated": _terminated(record.terminated)}
    waiting: dict[str, Any] = {"reason": record.reason}
    if record.message:
        waiting["message"] = record.message
    return {"waiting": waiting}


def _terminated(terminated: Terminated) -> dict[str, Any]:
    state: dict[str, Any] = {
        "exitCode": terminated.exit_code,
        "reason": terminated.reason,
        "startedAt": timestamp(terminated.started_at),
        "finishedAt": timestamp(terminated.finished_at),
    }
    if terminated.message:
        state["message"] = terminated.message
    if terminated.signal is not None:
        state["signal"] = terminated.signal
    if terminated.container_id:
        state["containerID"] = terminated.container_id
    return state
