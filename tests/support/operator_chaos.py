"""Helpers of the operator reliability tests: seeded kill points, and the invariants every trial
checks (one sidecar per Deployment, one Job per trigger, status caught up with the spec).

Every wait is ``controller_harness.wait_for``: a hang guard, not a speed requirement.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from support.controller_harness import OperatorProcess

SIDECAR = "kubedrift-sidecar"


@dataclass
class KillLog:
    """The kill points of a test (seconds after the trial's action), printed for the README."""

    phase: str
    seed: int
    delays: list[float] = field(default_factory=list)
    recoveries: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def kill_after(self, operator: OperatorProcess, low: float, high: float) -> float:
        """Sleep a seeded random time in ``[low, high]``, then ``kill -9`` the operator; returns
        the moment of the kill (``time.time()``)."""
        delay = self.rng.uniform(low, high)
        time.sleep(delay)
        operator.kill()
        self.delays.append(delay)
        return time.time()

    def report(self) -> str:
        recovered = sorted(self.recoveries)
        median = recovered[len(recovered) // 2] if recovered else float("nan")
        worst = recovered[-1] if recovered else float("nan")
        return (
            f"{self.phase}: {len(self.delays)} kill -9 trials (seed {self.seed}, kill points "
            f"{min(self.delays):.2f}-{max(self.delays):.2f} s), recovery after restart "
            f"median {median:.1f} s, max {worst:.1f} s"
        )


def restart(
    start_operator: Callable[..., OperatorProcess], killed: OperatorProcess | None = None
) -> tuple[OperatorProcess, float]:
    """Start a new operator, on the ``killed`` one's port when given (a restarted Pod behind the
    same Service: a Job created before the kill reaches its dataset at the same address); returns
    it and when it became healthy."""
    operator = start_operator(killed.port if killed else None)
    return operator, time.time()


def sidecar_count(deployment: dict[str, Any]) -> int:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return sum(1 for c in containers if c["name"] == SIDECAR)


def assert_injected_once(deployment: dict[str, Any]) -> None:
    """Exactly one sidecar, and no container, volume or env var of the template twice."""
    spec = deployment["spec"]["template"]["spec"]
    names = [c["name"] for c in spec["containers"]]
    volumes = [v["name"] for v in spec.get("volumes") or []]
    assert sidecar_count(deployment) == 1, names
    assert not [n for n, k in Counter(names).items() if k > 1], names
    assert not [n for n, k in Counter(volumes).items() if k > 1], volumes
    for container in spec["containers"]:
        env = [e["name"] for e in container.get("env") or []]
        assert not [n for n, k in Counter(env).items() if k > 1], (container["name"], env)


def caught_up(monitor: dict[str, Any] | None) -> dict[str, Any] | None:
    """The status when it describes the current spec and Ready is True, else None."""
    if monitor is None:
        return None
    status = monitor.get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c["type"] == "Ready"]
    if status.get("observedGeneration") != monitor["metadata"]["generation"]:
        return None
    return status if ready and ready[0]["status"] == "True" else None


def rolled_out_pod_ips(kube: Any, name: str, version: str) -> list[str] | None:
    """IPs of the Deployment's ready Pods once its latest template is fully rolled out (every
    Pod runs it, none is terminating), else None."""
    from support.controller_harness import current_pod_ips  # noqa: PLC0415 - helper of the same suite

    deployment = kube.deployment(name)
    status = deployment.get("status") or {}
    wanted = deployment["spec"]["replicas"]
    if status.get("observedGeneration") != deployment["metadata"]["generation"]:
        return None
    if not status.get("updatedReplicas") == status.get("replicas") == wanted:
        return None
    template_hash = config_hash(deployment["spec"]["template"])
    if template_hash is None:
        return None  # not injected yet
    if any(config_hash(pod) != template_hash for pod in kube.pods(f"app={name}")):
        return None
    ips = current_pod_ips(kube, version)
    return ips if ips and len(ips) == wanted else None


def config_hash(template_or_pod: dict[str, Any]) -> str | None:
    annotations = template_or_pod.get("metadata", {}).get("annotations") or {}
    found: str | None = annotations.get("kubedrift.io/config-hash")
    return found
