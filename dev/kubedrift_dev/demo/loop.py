"""The scenario, step by step: traffic from one world, the operator's verdict on it, and what
the loop does next (retrain, roll out, keep monitoring).

A step is one window of traffic (``DemoSettings.window_samples`` rows with their labels). After
each step :class:`LoopRunner` waits for an evaluation that started after the step ended and
records it as a :class:`Point`; when that evaluation started a retraining Job, it waits for the
Job and the rollout of the new model version and records :class:`Marker` s. The next step is
sent right after an evaluation was seen, so each evaluation judges whole steps: this relies on a
step (11 requests and their labels, well under a second here) fitting into one evaluation
interval (5 s); a machine stalled longer than that could let an evaluation see half a step.
Waits are bounded (``patience``): a hang guard, not a speed requirement.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from kubedrift_dev.demo.cluster_client import DemoCluster
from kubedrift_dev.demo.manifests import MONITOR, DemoSettings
from kubedrift_dev.demo.outcome import Marker, Outcome, Point, Row
from kubedrift_dev.demo.scenario import WORLDS
from kubedrift_dev.demo.traffic import Connections, send_step

T = TypeVar("T")
#: (world, steps): the shift scenario and the no-shift scenario of the same length.
SHIFT_PLAN: tuple[tuple[str, int], ...] = (("A", 3), ("B", 3), ("C", 3))
STEADY_PLAN: tuple[tuple[str, int], ...] = (("A", 9),)
REQUEST_ROWS = 20


class LoopTimeoutError(RuntimeError):
    """Something the loop waits for did not happen within the patience."""


def _timestamp(text: str | None) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else 0.0


def _condition(status: dict[str, Any], type_: str) -> str:
    for entry in status.get("conditions") or []:
        if entry["type"] == type_:
            return str(entry["status"])
    return "Unknown"


class LoopRunner:
    """Runs a plan against a deployed demo (see :mod:`kubedrift_dev.demo.deploy`)."""

    def __init__(
        self,
        cluster: DemoCluster,
        settings: DemoSettings,
        *,
        emit: Callable[[Row], None],
        labels_url: str,
        seed: int = 100,
        patience: float = 240.0,
    ) -> None:
        self.cluster = cluster
        self.labels_url = labels_url
        self.settings = settings
        self.emit = emit
        self.seed = seed
        self.patience = patience
        self.outcome = Outcome()
        self.connections = Connections()
        self.started = time.monotonic()
        self.sent = 0
        self.step = 0
        self.version = "1"
        self.token = ""
        self.pod_ips: list[str] = []
        self.last_evaluation = ""

    def wait(self, what: str, probe: Callable[[], T | None]) -> T:
        deadline = time.monotonic() + self.patience
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise LoopTimeoutError(f"gave up waiting for {what} after {self.patience:.0f}s")
            time.sleep(0.2)

    def evaluation_after(self, moment: float) -> dict[str, Any]:
        """The status of the first evaluation that started after ``moment`` (epoch seconds)."""

        def probe() -> dict[str, Any] | None:
            status = self.cluster.status(MONITOR)
            return status if _timestamp(status.get("lastEvaluationTime")) > moment else None

        status = self.wait("an evaluation", probe)
        self.last_evaluation = str(status.get("lastEvaluationTime"))
        return status

    def run(self, plan: Sequence[tuple[str, int]]) -> Outcome:
        self.pod_ips = self.wait(
            "the model Pod with its sidecar", lambda: self.cluster.serving_pod_ips(self.version)
        )
        self.token = self.wait(
            "the sidecar token",
            lambda: self.cluster.secret_value(f"{MONITOR}-kubedrift-token", "sidecar-token"),
        )
        try:
            for index, (world, steps) in enumerate(plan):
                if index > 0:
                    self._wait_for_cooldown()
                self.outcome.shifts[world] = self.sent
                self.outcome.shift_seconds[world] = self._seconds()
                for _ in range(steps):
                    self._step(world)
        finally:
            self.connections.close()
        self.outcome.final_status = self.cluster.status(MONITOR)
        return self.outcome

    def _seconds(self) -> float:
        return time.monotonic() - self.started

    def _step(self, world_name: str) -> None:
        world = WORLDS[world_name]
        self.evaluation_after(time.time() - 1.0)  # right after an evaluation: a whole step fits
        self.step += 1
        traffic = send_step(
            self.connections,
            self.pod_ips,
            world,
            rows=self.settings.window_samples,
            batch=REQUEST_ROWS,
            seed=self.seed + self.step,
            token=self.token,
            prefix=f"step{self.step}",
            labels_url=self.labels_url,
        )
        self.sent += traffic.rows
        status = self.evaluation_after(time.time())
        performance = status.get("performance") or {}
        drift = status.get("drift") or {}
        point = Point(
            self.step,
            world_name,
            self.sent,
            self._seconds(),
            traffic.accuracy,
            performance.get("value"),
            drift.get("share"),
            _condition(status, "DriftDetected"),
            _condition(status, "PerformanceDegraded"),
            str(status.get("phase")),
            self.version,
        )
        self.outcome.points.append(point)
        self._note_detections(point)
        retraining = status.get("retraining") or {}
        started = len(self.outcome.jobs) < int(retraining.get("count", 0))
        self.emit(
            Row(
                str(self.step),
                f"serve {traffic.rows} rows, {traffic.joined} labels back",
                f"{world_name}: {world.description}",
                _match(status),
                _accuracy(point),
                _next(status, started),
            )
        )
        if started:
            self._retrain(retraining)

    def _note_detections(self, point: Point) -> None:
        found = self.outcome.detections.setdefault(point.world, {})
        after_shift = point.samples - self.outcome.shifts[point.world]
        for condition, value in (
            ("DriftDetected", point.drift),
            ("PerformanceDegraded", point.degraded),
        ):
            if value == "True" and condition not in found:
                found[condition] = after_shift
                self.outcome.markers.append(
                    Marker(
                        "alert",
                        point.samples,
                        point.seconds,
                        f"{condition} ({after_shift} rows after the shift)",
                    )
                )

    def _retrain(self, retraining: dict[str, Any]) -> None:
        job = str(retraining["lastJob"])
        self.outcome.jobs[job] = (self.sent, None)
        self.outcome.markers.append(
            Marker(
                "retraining", self.sent, self._seconds(), f"{job} ({retraining.get('lastTrigger')})"
            )
        )

        def finished() -> dict[str, Any] | None:
            found = self.cluster.status(MONITOR).get("retraining") or {}
            done = found.get("lastJob") == job and found.get("lastResult") != "Running"
            return found if done else None

        result = self.wait(f"the retraining Job {job}", finished)
        gate = result.get("gate")
        if result.get("lastResult") != "Succeeded":
            if gate is not None:
                self.emit(gate_row(gate))
            self.emit(
                Row(
                    "",
                    f"Job {job} {result.get('lastResult')}",
                    "dataset B",
                    "",
                    "",
                    "see kubectl describe mmon",
                )
            )
            return
        version = str(result["modelVersion"])
        self.emit(
            Row(
                "",
                f"{job} succeeded",
                "dataset B (recent labeled rows)",
                "",
                "",
                f"roll out model v{version}" if gate is None else "promotion gate",
            )
        )
        if gate is not None:
            self.emit(gate_row(gate, version))
        self.pod_ips = self.wait(
            f"Pods of model version {version}", lambda: self.cluster.serving_pod_ips(version)
        )
        self.version = version
        self.outcome.jobs[job] = (self.sent, version)
        self.outcome.markers.append(
            Marker("rollout", self.sent, self._seconds(), f"model v{version}")
        )
        self.emit(
            Row(
                "",
                f"rolled out model v{version}",
                "new baseline adopted",
                "",
                "",
                "keep monitoring",
            )
        )

    def _wait_for_cooldown(self) -> None:
        retraining = self.cluster.status(MONITOR).get("retraining") or {}
        if not retraining.get("lastStartTime"):
            return
        ready = _timestamp(retraining["lastStartTime"]) + self.settings.cooldown_seconds + 1
        if time.time() < ready:
            self.emit(
                Row(
                    "",
                    f"wait for the {self.settings.cooldown_seconds}s cooldown",
                    "",
                    "",
                    "",
                    "next shift",
                )
            )
            time.sleep(max(0.0, ready - time.time()))


def _match(status: dict[str, Any]) -> str:
    drift = status.get("drift")
    if not drift:
        return "n/a (too few samples)"
    share = float(drift.get("share", 0.0))
    drifted = [f["name"] for f in drift.get("features") or [] if f.get("drifted")]
    if drift.get("drifted"):
        return f"NO: drift in {', '.join(drifted)} (share {share:.2f})"
    return f"yes (share {share:.2f})"


def _accuracy(point: Point) -> str:
    operator = "n/a" if point.operator_accuracy is None else f"{point.operator_accuracy:.2f}"
    return f"{point.accuracy:.2f} (operator {operator})"


def gate_row(gate: dict[str, Any], version: str | None = None) -> Row:
    """The promotion gate's verdict on the Job's candidate (model ``version`` when it was
    promoted), as a table row."""
    accuracy = ""
    if "servingAccuracy" in gate and "candidateAccuracy" in gate:
        accuracy = f"{gate['servingAccuracy']:.3f} -> {gate['candidateAccuracy']:.3f}"
    verdict = str(gate["result"])
    if "pValue" in gate:
        verdict += f" (p={gate['pValue']:.2g})"
    promoted = gate["result"] == "Promoted"
    return Row(
        "",
        f"promotion gate: {verdict}",
        f"{gate['heldOut']} held-out rows (latest)",
        "",
        accuracy,
        f"roll out model v{version}" if promoted and version else "keep the serving model",
    )


def _next(status: dict[str, Any], retraining_started: bool) -> str:
    if retraining_started:
        return "alert raised: retrain on the new data"
    degraded = _condition(status, "PerformanceDegraded") == "True"
    if status.get("phase") in ("Drifting", "Degraded", "Warning") or degraded:
        return f"alert ({status.get('phase')}); retraining after cooldown"
    if status.get("phase") == "Retraining":
        return "wait for the Job"
    return "keep monitoring"
