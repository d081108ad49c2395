"""Labels for a model with two replicas go to one place, the operator, which finds the replica
that served each request: every label joins exactly once and no sidecar counts it unknown."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import numpy as np

from support.cluster_waiting import wait_for
from support.controller_harness import (
    baseline_json,
    current_pod_ips,
    metric,
    model_deployment,
    model_monitor,
    scrape,
)
from support.json_post import post

ROWS = 240


def send(url: str, body: bytes, token: str) -> tuple[int, dict[str, Any]]:
    """POST ``body``; returns the status and the JSON answer, whatever the status."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=10) as ok:
            return ok.status, json.load(ok)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_labels_posted_to_the_operator_join_on_the_replica_that_served_them(
    kube: Any, operator: Any
) -> None:
    kube.create_baseline("model-baseline", baseline_json(0.0, seed=1))
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model", replicas=2))
    kube.create_monitor(model_monitor("watch", "model"))

    def both_replicas() -> list[str] | None:
        ips = current_pod_ips(kube, "1")
        return ips if ips and len(ips) == 2 else None

    ips = wait_for("two ready Pods with the sidecar", both_replicas)
    token = kube.secret_value("watch-kubedrift-token", "sidecar-token")
    rng = np.random.default_rng(5)
    labels = []
    for index, value in enumerate(rng.normal(size=ROWS)):
        request_id = f"row-{index}"
        post(
            f"http://{ips[index % 2]}:8480/v2/models/demo/infer",
            {
                "id": request_id,
                "inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [value]}],
            },
        )
        labels.append({"id": request_id, "label": int(value > 0)})
    endpoint = f"http://127.0.0.1:{operator.port}/v1/feedback/{kube.namespace}/watch"

    def stored() -> bool:
        """Each sidecar parses sampled exchanges after answering them, so a label may otherwise
        overtake its own prediction (that label is unknown, on any endpoint)."""
        pages = [scrape(f"http://{ip}:8481/metrics") for ip in ips]
        return sum(metric(page, "kubedrift_rows_total") for page in pages) == ROWS

    wait_for("both sidecars to have parsed every exchange", stored)

    answer = post(endpoint, labels, token=token)
    again = post(endpoint, labels[:10], token=token)

    assert answer["joined"] == ROWS, answer["rejected"]
    assert answer["rejected"] == []
    assert answer["sidecars"] == {"desired": 2, "reporting": 2}
    assert (again["joined"], again["duplicate"]) == (0, 10)
    for ip in ips:
        page = scrape(f"http://{ip}:8481/metrics")
        assert metric(page, "kubedrift_labels_total", outcome="unknown") == 0
        assert metric(page, "kubedrift_labels_total", outcome="joined") == ROWS / 2
    operator_page = scrape(f"http://127.0.0.1:{operator.port}/metrics")
    ours = {"namespace": kube.namespace, "monitor": "watch"}
    assert (
        metric(operator_page, "kubedrift_operator_labels_total", **ours, outcome="joined") == ROWS
    )
    assert (
        metric(operator_page, "kubedrift_operator_labels_total", **ours, outcome="duplicate") == 10
    )

    def all_labels_evaluated() -> dict[str, Any] | None:
        performance = kube.status("watch").get("performance") or {}
        return performance if performance.get("samples") == ROWS else None

    performance = wait_for("the status to judge accuracy on every label", all_labels_evaluated)
    assert performance["metric"] == "accuracy"

    assert send(endpoint, b"[]", "wrong")[0] == 401
    assert send(endpoint, b"{oops", token) == (400, {"error": "body is not JSON"})
    missing = f"http://127.0.0.1:{operator.port}/v1/feedback/{kube.namespace}/nobody"
    assert send(missing, b"[]", token)[0] == 404

    kube.apps.patch_namespaced_deployment_scale("model", kube.namespace, {"spec": {"replicas": 0}})
    body = json.dumps(labels[:1]).encode()

    def no_sidecar() -> dict[str, Any] | None:
        """503 once no Pod is ready (while one still answers, the labels are duplicates)."""
        status, error = send(endpoint, body, token)
        return error if status == 503 and "no ready sidecar" in error["error"] else None

    error = wait_for("no sidecar left to take labels", no_sidecar)
    assert error == {"error": f"monitor {kube.namespace}/watch has no ready sidecar"}
