"""Update conflicts (409) on the real control plane: the operator's read-modify-write updates
carry the resourceVersion they read, so a concurrent change is never silently overwritten, and
after a conflict the operator reads again, recomputes and converges.

- deterministic: the test-only fault ``stale_first_write`` makes each write path's first write
  stale (the operator changes the object itself right before writing what it computed from the
  older read), so the real API server answers a real 409 on every path;
- a concurrent writer keeps editing the same Deployment (read-modify-write of the whole object:
  annotation, replicas) and Service (another port) while the monitor is created and deleted.

Conflicts are read from the operator's ``kubedrift_operator_api_conflicts_total``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from kubedrift.controller.conflicts import WRITES
from kubedrift.controller.operator_faults import ENV, STALE_WRITE_ANNOTATION
from support.api_faults import ConcurrentWriter
from support.cluster_waiting import wait_for
from support.controller_harness import (
    baseline_json,
    metric,
    model_deployment,
    model_monitor,
    samples,
    scrape,
)
from support.operator_chaos import assert_injected_once, caught_up, sidecar_count

pytestmark = pytest.mark.chaos

#: The sidecar's default traffic port (``spec.capture.listenPort``).
LISTEN_PORT = 8480


def conflicts(operator: Any) -> dict[str, float]:
    """``kubedrift_operator_api_conflicts_total`` by write path, from the operator's /metrics."""
    text = scrape(f"http://127.0.0.1:{operator.port}/metrics")
    found = samples(text, "kubedrift_operator_api_conflicts_total")
    return {sample.labels["write"]: sample.value for sample in found}


def requests(operator: Any, method: str, resource: str) -> float:
    """``kubedrift_operator_api_requests_total{method, resource}``."""
    text = scrape(f"http://127.0.0.1:{operator.port}/metrics")
    return metric(text, "kubedrift_operator_api_requests_total", method=method, resource=resource)


def create_target(kube: Any, *, extra_port: bool = False) -> None:
    """Baseline, a Deployment with no replicas and its Service (port 80 to the model's 8080)."""
    kube.create_baseline("model-baseline", baseline_json(0.0, seed=1))
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model", 0))
    ports = [{"name": "http", "port": 80, "targetPort": 8080}]
    if extra_port:
        ports.append({"name": "metrics", "port": 9090, "targetPort": 9100})
    kube.core.create_namespaced_service(
        kube.namespace,
        {"metadata": {"name": "model"}, "spec": {"selector": {"app": "model"}, "ports": ports}},
    )


def service_targets(kube: Any) -> dict[int, Any]:
    service = kube.core.read_namespaced_service("model", kube.namespace)
    return {port.port: port.target_port for port in service.spec.ports}


def monitor_with_service() -> dict[str, Any]:
    body = model_monitor("watch", "model")
    body["spec"]["target"]["service"] = "model"
    return body


def delete_monitor(kube: Any) -> None:
    kube.custom.delete_namespaced_custom_object(
        "kubedrift.io", "v1alpha1", kube.namespace, "modelmonitors", "watch"
    )


def test_a_stale_first_write_on_every_path_gets_a_real_409_and_the_operator_converges(
    kube: Any, start_operator: Callable[..., Any]
) -> None:
    operator = start_operator(env={ENV: "stale_first_write=" + "+".join(WRITES)})
    create_target(kube)
    kube.create_monitor(monitor_with_service())
    created = time.monotonic()

    status = wait_for("Ready", lambda: caught_up(kube.monitor("watch")))
    wait_for("the Service pointed at the sidecar", lambda: service_targets(kube)[80] == LISTEN_PORT)
    converged = time.monotonic() - created
    deployment = kube.deployment("model")
    assert_injected_once(deployment)
    assert status["phase"] == "NoData"
    assert status["sidecars"] == {"desired": 0, "reporting": 0}
    # The fault's own concurrent write landed on each object before the operator's write ...
    service = kube.core.read_namespaced_service("model", kube.namespace)
    assert STALE_WRITE_ANNOTATION in deployment["metadata"]["annotations"]
    assert STALE_WRITE_ANNOTATION in service.metadata.annotations
    assert STALE_WRITE_ANNOTATION in (kube.monitor("watch") or {})["metadata"]["annotations"]
    # ... and the API server refused the write computed from the older read.
    counted = wait_for(
        "the conflicts counted", lambda: _all_counted(operator, ("inject", "takeover", "status"))
    )
    # The status was read again through the monitor itself: the chart's role may patch
    # modelmonitors/status but not get it.
    assert requests(operator, "GET", "modelmonitors/status") == 0
    assert requests(operator, "GET", "modelmonitors") >= 1

    delete_monitor(kube)
    deleted = time.monotonic()
    wait_for("the monitor to be gone", lambda: kube.monitor("watch") is None)
    cleaned = time.monotonic() - deleted
    assert service_targets(kube) == {80: 8080}
    assert sidecar_count(kube.deployment("model")) == 0
    assert operator.process.poll() is None
    after = conflicts(operator)
    assert after["remove"] >= 1 and after["restore"] >= 1
    print(
        f"\nstale first writes: conflicts answered and retried {counted | after}; injected, "
        f"Service pointed and Ready {converged:.1f} s after the monitor was created, cleaned "
        f"up {cleaned:.1f} s after its deletion"
    )


def test_a_concurrent_writer_loses_nothing_and_the_operator_injects_once_and_restores(
    kube: Any, start_operator: Callable[..., Any]
) -> None:
    operator = start_operator()
    create_target(kube, extra_port=True)
    writer = ConcurrentWriter(kube, "model", "model")
    writer.start()
    try:
        kube.create_monitor(monitor_with_service())
        wait_for("Ready", lambda: caught_up(kube.monitor("watch")))
        wait_for("the Service pointed at the sidecar",
                 lambda: service_targets(kube)[80] == LISTEN_PORT)  # fmt: skip
        # Let the writer overwrite the objects many more times while the monitor lives.
        mark = writer.rounds
        wait_for("more writer rounds", lambda: writer.rounds >= mark + 20)
        assert_injected_once(kube.deployment("model"))
        assert service_targets(kube)[80] == LISTEN_PORT
        assert caught_up(kube.monitor("watch"))

        delete_monitor(kube)
        wait_for("the monitor to be gone", lambda: kube.monitor("watch") is None)
        mark = writer.rounds
        wait_for("more writer rounds", lambda: writer.rounds >= mark + 10)
    finally:
        writer.stop()
    assert not writer.is_alive()

    deployment = kube.deployment("model")
    assert sidecar_count(deployment) == 0
    assert deployment["metadata"]["annotations"]["writer.example.com/round"] == writer.last["round"]
    assert deployment["spec"]["replicas"] == writer.last["replicas"]
    assert service_targets(kube) == {80: 8080, 9090: writer.last["metrics_target"]}
    print(
        f"\nconcurrent writer: {writer.rounds} rounds, {writer.conflicts} of its own updates "
        f"answered 409 and redone; operator conflicts {conflicts(operator)}"
    )


def _all_counted(operator: Any, writes: tuple[str, ...]) -> dict[str, float] | None:
    counted = conflicts(operator)
    return counted if all(counted[write] >= 1 for write in writes) else None
