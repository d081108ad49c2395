"""``kill -9`` of the operator at seeded random points while it injects, evaluates and retrains,
on the real control plane: never a second sidecar, never a second Job for one trigger, and the
status catches up after every restart. 32 trials in all (12 + 10 + 10)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from kubedrift.controller.timestamps import from_timestamp
from support.cluster_waiting import wait_for
from support.controller_harness import (
    baseline_json,
    current_pod_ips,
    model_deployment,
    model_monitor,
)
from support.controller_traffic import send_traffic
from support.operator_chaos import (
    KillLog,
    assert_injected_once,
    caught_up,
    restart,
    rolled_out_pod_ips,
)

pytestmark = pytest.mark.chaos

INJECTION_TRIALS = 12
EVALUATION_TRIALS = 10
RETRAINING_TRIALS = 10


def test_kill_9_during_injection_never_injects_twice(
    kube: Any, start_operator: Callable[[], Any]
) -> None:
    log = KillLog("injection", seed=81)
    operator, _ = restart(start_operator)
    for trial in range(INJECTION_TRIALS):
        target = f"model-{trial}"
        kube.create_baseline(f"{target}-baseline", baseline_json(0.0, seed=trial))
        # No replicas: the trials are about the Deployment's template, not about Pods.
        kube.apps.create_namespaced_deployment(kube.namespace, model_deployment(target, 0))
        kube.create_monitor(model_monitor(f"watch-{trial}", target))
        log.kill_after(operator, 0.0, 2.0)
        operator, started = restart(start_operator, operator)
        monitor = f"watch-{trial}"
        wait_for(f"{monitor} to catch up", lambda m=monitor: caught_up(kube.monitor(m)))
        log.recoveries.append(time.time() - started)
        for earlier in range(trial + 1):  # the restart left every earlier Deployment alone too
            assert_injected_once(kube.deployment(f"model-{earlier}"))
    print(f"\n{log.report()}")


def test_kill_9_during_evaluation_lets_status_catch_up_without_touching_pods(
    kube: Any, start_operator: Callable[[], Any]
) -> None:
    log = KillLog("evaluation", seed=82)
    operator, _ = restart(start_operator)
    kube.create_baseline("model-baseline", baseline_json(0.0, seed=1))
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model"))
    body = model_monitor("watch", "model")
    kube.create_monitor(body)
    ips = wait_for("a ready Pod with the sidecar", lambda: current_pod_ips(kube, "1"))
    token = kube.secret_value("watch-kubedrift-token", "sidecar-token")
    send_traffic(ips, shift=0.0, rows=150, seed=3, admin_token=token, prefix="ok")
    wait_for("Healthy", lambda: kube.status("watch").get("phase") == "Healthy")
    template = kube.deployment("model")["spec"]["template"]

    for _ in range(EVALUATION_TRIALS):
        killed = log.kill_after(operator, 0.0, 5.0)  # anywhere in the 5 s evaluation cycle
        operator, started = restart(start_operator, operator)

        def evaluated_again(killed: float = killed) -> dict[str, Any] | None:
            status = caught_up(kube.monitor("watch"))
            if status is None or "lastEvaluationTime" not in status:
                return None
            return status if from_timestamp(status["lastEvaluationTime"]) > killed else None

        status = wait_for("an evaluation by the new operator", evaluated_again)
        log.recoveries.append(time.time() - started)
        assert status["phase"] == "Healthy"
        assert kube.deployment("model")["spec"]["template"] == template  # no rollout, no edit
    print(f"\n{log.report()}")


def test_kill_9_during_retraining_never_creates_a_second_job_for_one_trigger(
    kube: Any, start_operator: Callable[[], Any]
) -> None:
    """Each trial sends mislabeled traffic once (one trigger), kills the operator at a seeded
    point within the next 12 s (evaluation, Job creation, Job running, rollout) and restarts it:
    the trial ends with exactly one more Job, Succeeded, rolled out."""
    log = KillLog("retraining", seed=83)
    operator, _ = restart(start_operator)
    kube.create_baseline("model-baseline", baseline_json(0.0, seed=1))
    kube.create_baseline("model-baseline-v2", baseline_json(3.0, seed=2))
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model"))
    # The trigger needs labels (accuracy below 0.8 over 100 labels), so every Job finds the
    # labeled rows it requires in dataset B and succeeds: one trigger, one Job, one success.
    body = model_monitor(
        "watch",
        "model",
        triggers=("PerformanceDegraded",),
        NEW_VERSION="2",
        NEW_BASELINE="model-baseline-v2",
        HOLD_SECONDS="2",
    )
    body["spec"]["retraining"]["cooldown"] = "1s"
    kube.create_monitor(body)

    for trial in range(1, RETRAINING_TRIALS + 1):
        # Version 1 predicts x > 0, version 2 x > 3; labels are x > shift: traffic at 3 makes
        # version 1 wrong half the time, traffic at 0 version 2.
        version, shift = ("1", 3.0) if trial == 1 else ("2", 0.0)
        if trial > 1:  # the Job's "training" produced a new baseline: adopting it rolls the Pods
            kube.core.patch_namespaced_config_map(
                "model-baseline-v2",
                kube.namespace,
                {"data": {"baseline.json": baseline_json(3.0, seed=100 + trial)}},
            )
        ips = wait_for(
            f"Pods of version {version} rolled out",
            lambda v=version: rolled_out_pod_ips(kube, "model", v),
        )
        token = kube.secret_value("watch-kubedrift-token", "sidecar-token")
        send_traffic(ips, shift=shift, rows=150, seed=trial, admin_token=token, prefix=f"t{trial}")
        log.kill_after(operator, 0.0, 12.0)
        operator, started = restart(start_operator, operator)

        def finished(n: int = trial) -> dict[str, Any] | None:
            retraining = kube.status("watch").get("retraining") or {}
            done = retraining.get("count") == n and retraining.get("lastResult") == "Succeeded"
            return retraining if done else None

        wait_for(f"retraining {trial} to succeed", finished)
        log.recoveries.append(time.time() - started)
        assert kube.jobs() == sorted(f"watch-retrain-{n}" for n in range(1, trial + 1))
        assert_injected_once(kube.deployment("model"))
    wait_for("the last rollout", lambda: rolled_out_pod_ips(kube, "model", "2"))
    assert kube.jobs() == sorted(f"watch-retrain-{n}" for n in range(1, RETRAINING_TRIALS + 1))
    print(f"\n{log.report()}")
