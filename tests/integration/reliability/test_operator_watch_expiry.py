"""The operator's watch expires under it (410 Gone) and it recovers by itself, on the real
control plane.

How the 410 is provoked for real: the API server runs with ``--watch-cache=false`` for this test
(a restart with that flag, undone afterwards), so a watch resumed from a resourceVersion goes to
etcd, and etcd's history is compacted (its JSON gateway) past the version the operator last saw.
The operator is frozen (SIGSTOP) from just before until just after, so that it can neither see
nor write anything newer meanwhile, and the API server ends its watch (``--watch-timeout``) while
it is frozen; once thawed it resumes the stream from its old version and is answered 410.

Proof: the API server answers a watch from the operator's last version with 410 (asked by the
test), and kopf logs that it restarts the stream (it does so only on 410); then a monitor
created afterwards gets its sidecar and a Ready status with its sidecar reporting (the operator's
own Pod list and window pulls work too). The recovery time is printed (README, Reliability).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from kubedrift_dev.devcluster.etcd import Etcd
from support.api_faults import first_watch_event, open_watches
from support.cluster_waiting import wait_for
from support.controller_harness import baseline_json, model_deployment, model_monitor
from support.operator_chaos import assert_injected_once, caught_up

pytestmark = pytest.mark.chaos

#: The operator's watch requests end after this long (``--watch-timeout``).
WATCH_TIMEOUT = 5
RESTARTED = "Restarting the watch-stream for modelmonitors.v1alpha1.kubedrift.io"


def test_operator_resumes_by_itself_after_its_watch_expires_with_410_gone(
    cluster: Any, kube: Any, start_operator: Callable[..., Any]
) -> None:
    control_plane = cluster.control_plane
    if control_plane is None:
        pytest.fail("compacting etcd needs the local control plane")
    control_plane.restart_apiserver(extra_flags=["--watch-cache=false"])
    try:
        recovery = _expire_and_recover(control_plane, kube, start_operator)
    finally:
        control_plane.restart_apiserver()
    print(
        f"\nwatch expiry (410 Gone after etcd compaction): after the operator resumed, kopf "
        f"restarted its watch in {recovery[0]:.1f} s; a monitor created then got its sidecar "
        f"{recovery[1]:.1f} s after the resume and was Ready with its sidecar reporting after "
        f"{recovery[2]:.1f} s"
    )


def _expire_and_recover(
    control_plane: Any, kube: Any, start_operator: Callable[..., Any]
) -> tuple[float, float, float]:
    operator = start_operator(
        args=("--watch-timeout", str(WATCH_TIMEOUT)),
        refusals_expected="the API server restarts; its RBAC cache is empty for a moment",
    )
    kube.create_baseline("model-baseline", baseline_json(0.0, seed=1))
    kube.create_baseline("later-baseline", baseline_json(0.0, seed=2))
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model", 0))
    kube.create_monitor(model_monitor("before", "model"))
    wait_for("Ready", lambda: caught_up(kube.monitor("before")))
    seen = (kube.monitor("before") or {})["metadata"]["resourceVersion"]
    path = f"/apis/kubedrift.io/v1alpha1/namespaces/{kube.namespace}/modelmonitors"

    operator.process.send_signal(signal.SIGSTOP)
    try:
        # The API server ends the frozen operator's watch after --watch-timeout.
        def watch_ended() -> bool:
            return open_watches(control_plane, "modelmonitors", "namespace") == 0

        wait_for("the operator's watch to end", watch_ended)
        etcd = Etcd(control_plane.etcd_url)
        etcd.advance()
        etcd.compact(etcd.advance())
        answer = first_watch_event(control_plane, path, seen)
        assert answer["type"] == "ERROR"
        assert (answer["object"]["code"], answer["object"]["reason"]) == (410, "Expired")
    finally:
        operator.process.send_signal(signal.SIGCONT)
    thawed = time.monotonic()

    wait_for(
        "kopf to restart its watch after the 410", lambda: RESTARTED in operator.log.read_text()
    )
    restarted = time.monotonic() - thawed
    later = model_deployment("later", 1)
    kube.apps.create_namespaced_deployment(kube.namespace, later)
    body = model_monitor("after", "later")
    body["spec"]["baseline"]["configMapRef"]["name"] = "later-baseline"
    kube.create_monitor(body)
    wait_for("the new monitor's sidecar", lambda: _injected(kube.deployment("later")))
    injected = time.monotonic() - thawed

    def reporting() -> bool:
        status = caught_up(kube.monitor("after")) or {}
        return status.get("sidecars") == {"desired": 1, "reporting": 1}

    wait_for("the new monitor Ready with its sidecar reporting", reporting)
    ready = time.monotonic() - thawed
    assert operator.process.poll() is None  # it recovered in place, nobody restarted it
    assert_injected_once(kube.deployment("later"))
    return restarted, injected, ready


def _injected(deployment: dict[str, Any]) -> bool:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return any(c["name"] == "kubedrift-sidecar" for c in containers)
