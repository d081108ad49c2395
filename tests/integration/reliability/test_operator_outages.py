"""The operator rides out outages of what it depends on, on the real control plane: the API
server restarting under it (its watch streams break and resume), the monitor deleted while the
operator is down, and a retraining Job that always fails.

Recovery times are measured and printed (README, Reliability); the tests assert only that
recovery happens, within the harness's generous hang guard.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest

from support.cluster_waiting import wait_for
from support.controller_harness import (
    baseline_json,
    current_pod_ips,
    model_deployment,
    model_monitor,
)
from support.controller_traffic import send_traffic
from support.operator_chaos import assert_injected_once, caught_up, sidecar_count

pytestmark = pytest.mark.chaos

API_DOWNTIME = 5.0
FAILING_TRIGGER_WINDOW = 70.0
COOLDOWN = 15.0


def patch_spec(kube: Any, name: str, spec: dict[str, Any]) -> None:
    kube.custom.patch_namespaced_custom_object(
        "kubedrift.io", "v1alpha1", kube.namespace, "modelmonitors", name, {"spec": spec}
    )


def test_operator_recovers_by_itself_after_the_api_server_restarts(
    cluster: Any, kube: Any, start_operator: Callable[[], Any]
) -> None:
    if cluster.control_plane is None:
        pytest.fail("restarting the API server needs the local control plane")
    operator = start_operator()
    kube.create_baseline("model-baseline", baseline_json(0.0, seed=1))
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model", 0))
    kube.create_monitor(model_monitor("watch", "model"))
    wait_for("Ready", lambda: caught_up(kube.monitor("watch")))

    cluster.control_plane.restart_apiserver(downtime=API_DOWNTIME)
    back = time.monotonic()
    # A spec change made right after the restart must reach the Deployment's sidecar config:
    # only an operator whose watch came back sees it.
    patch_spec(kube, "watch", {"capture": {"sampleRate": 0.25}})

    def reconfigured() -> bool:
        config = kube.core.read_namespaced_config_map("watch-kubedrift-sidecar", kube.namespace)
        return "sampleRate: 0.25" in config.data["sidecar.yaml"] and bool(
            caught_up(kube.monitor("watch"))
        )

    wait_for("the operator to act on a spec change after the restart", reconfigured)
    recovery = time.monotonic() - back
    assert operator.process.poll() is None  # it recovered in place, nobody restarted it
    assert_injected_once(kube.deployment("model"))
    retries = operator.log.read_text().count("failed; will retry")
    print(
        f"\nAPI server restart ({API_DOWNTIME:.0f} s down): spec change acted on "
        f"{recovery:.1f} s after the API server was ready again ({retries} failed API requests "
        "retried meanwhile)"
    )


def test_monitor_deleted_while_the_operator_is_down_is_cleaned_up_on_return(
    kube: Any, start_operator: Callable[[], Any]
) -> None:
    operator = start_operator()
    kube.create_baseline("model-baseline", baseline_json(0.0, seed=1))
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model", 0))
    kube.core.create_namespaced_service(
        kube.namespace,
        {
            "metadata": {"name": "model"},
            "spec": {
                "selector": {"app": "model"},
                "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
            },
        },
    )
    body = model_monitor("watch", "model")
    body["spec"]["target"]["service"] = "model"
    kube.create_monitor(body)
    wait_for("Ready", lambda: caught_up(kube.monitor("watch")))
    taken_over = kube.core.read_namespaced_service("model", kube.namespace).spec.ports[0]
    assert taken_over.target_port != 8080
    assert sidecar_count(kube.deployment("model")) == 1

    operator.kill()
    kube.custom.delete_namespaced_custom_object(
        "kubedrift.io", "v1alpha1", kube.namespace, "modelmonitors", "watch"
    )
    time.sleep(2)  # the finalizer holds the monitor while nobody is there to clean up
    assert kube.monitor("watch") is not None
    start_operator()

    wait_for("the monitor to be gone", lambda: kube.monitor("watch") is None)
    service = kube.core.read_namespaced_service("model", kube.namespace)
    assert [(p.port, p.target_port) for p in service.spec.ports] == [(80, 8080)]
    assert sidecar_count(kube.deployment("model")) == 0


def test_a_job_that_always_fails_is_retried_after_the_cooldown_with_backoff(
    kube: Any, start_operator: Callable[[], Any]
) -> None:
    start_operator()
    kube.create_baseline("model-baseline", baseline_json(3.0, seed=1))
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model"))
    body = model_monitor("watch", "model", triggers=("DriftDetected",), NEW_VERSION="2",
                         NEW_BASELINE="missing")  # fmt: skip
    job_spec = body["spec"]["retraining"]["template"]["spec"]["template"]["spec"]
    job_spec["containers"][0]["command"] = ["python", "-c", "raise SystemExit(3)"]
    body["spec"]["retraining"]["cooldown"] = f"{COOLDOWN:.0f}s"
    kube.create_monitor(body)
    ips = wait_for("a ready Pod with the sidecar", lambda: current_pod_ips(kube, "1"))
    token = kube.secret_value("watch-kubedrift-token", "sidecar-token")
    send_traffic(ips, shift=0.0, rows=150, seed=3, admin_token=token, prefix="drifted")
    # The drift stays (a failed Job changes nothing), so the trigger stays active throughout.
    wait_for("the first Job", kube.jobs)
    time.sleep(FAILING_TRIGGER_WINDOW)

    jobs = kube.batch.list_namespaced_job(kube.namespace).items
    starts = sorted(job.metadata.creation_timestamp.timestamp() for job in jobs)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    status = kube.status("watch")
    print(
        f"\nfailing Job: {len(jobs)} Jobs in {FAILING_TRIGGER_WINDOW:.0f} s with a "
        f"{COOLDOWN:.0f} s cooldown (doubling); gaps {[round(g, 1) for g in gaps]} s"
    )
    assert status["retraining"]["lastResult"] in ("Failed", "Running")
    assert len(jobs) >= 2  # it is retried ...
    # ... only after the cooldown, doubled after each further failure (1 s: timestamp rounding),
    backoff = [COOLDOWN * min(2**i, 8) - 1 for i in range(len(gaps))]
    assert all(gap >= wait for gap, wait in zip(gaps, backoff, strict=True)), (gaps, backoff)
    # ... so never a storm.
    assert status["retraining"]["failures"] >= len(jobs) - 1
    assert kube.events("RetrainingFailed")
