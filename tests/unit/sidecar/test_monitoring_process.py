"""A real sidecar process turns sampled traffic into windows, joined labels and metrics."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kubedrift.stats.baseline import Baseline
from kubedrift.stats.window import Window
from support.cluster_waiting import wait_for
from support.sidecar_model_server import ModelServer
from support.sidecar_process import (
    Sidecar,
    http_request,
    raw_exchange,
    split_response,
    start_sidecar,
)


@pytest.fixture
def fresh(model: ModelServer, baseline_file: Path) -> Iterator[Sidecar]:
    """A sidecar of its own (exact counts), sampling everything."""
    sidecar = start_sidecar(
        model.port, baseline_file, "--sample-rate", "1", "--max-samples-per-second", "100000"
    )
    yield sidecar
    sidecar.stop()


def oip(rows: list[list[float]], request_id: str | None = None) -> bytes:
    document: dict[str, Any] = {
        "inputs": [
            {
                "name": "x",
                "shape": [len(rows), 3],
                "datatype": "FP64",
                "data": [v for r in rows for v in r],
            }
        ]
    }
    if request_id is not None:
        document["id"] = request_id
    return json.dumps(document).encode()


def infer(
    sidecar: Sidecar, body: bytes, headers: Sequence[tuple[str, str]] = ()
) -> tuple[int, dict[str, str], bytes]:
    status, header_list, payload = split_response(
        raw_exchange(sidecar.port, http_request("POST", "/v2/models/m/infer", body, headers))
    )
    return status, dict(header_list), payload


def test_labels_join_by_each_kind_of_request_id_and_outcomes_are_reported(fresh: Sidecar) -> None:
    infer(fresh, oip([[1.0, 0, 0]]), [("X-Request-ID", "by-header")])
    infer(fresh, oip([[-1.0, 0, 0]], request_id="by-body"))
    infer(fresh, oip([[2.0, 0, 0]]), [("Ce-Id", "by-cloudevent")])
    _, headers, _ = infer(fresh, oip([[3.0, 0, 0], [-3.0, 0, 0]]))
    generated = headers["X-Request-ID"]
    fresh.wait_for_samples(5)

    status, body = fresh.post(
        "/v1/feedback",
        [
            {"id": "by-header", "label": 1},
            {"id": "by-body", "label": 1},
            {"id": "by-cloudevent", "label": 1},
            {"id": generated, "label": [1, 0]},
            {"id": "by-header", "label": 0},
            {"id": "never-seen", "label": 0},
            {"label": 1},
        ],
    )

    assert status == 200
    assert json.loads(body) == {
        "joined": 4, "unknown": 1, "expired": 0, "duplicate": 1, "invalid": 1,
        "rejected": [
            {"id": "by-header", "outcome": "duplicate"},
            {"id": "never-seen", "outcome": "unknown"},
            {"id": "None", "outcome": "invalid"},
        ],
    }  # fmt: skip
    rows = fresh.json("/v1/labeled")["rows"]
    assert sorted((r["features"]["x-0"], r["prediction"], r["label"]) for r in rows) == [
        (-3.0, 0, 0), (-1.0, 0, 1), (1.0, 1, 1), (2.0, 1, 1), (3.0, 1, 1),
    ]  # fmt: skip
    assert fresh.metric("kubedrift_labels_total", {"outcome": "joined"}) == 4
    assert fresh.metric("kubedrift_window_labeled", {"model": ""}) == 5


def test_a_sidecar_that_knows_its_model_version_labels_windows_and_labeled_rows(
    model: ModelServer, baseline_file: Path
) -> None:
    sidecar = start_sidecar(
        model.port, baseline_file, "--sample-rate", "1", env={"KUBEDRIFT_MODEL_VERSION": "3"}
    )
    try:
        infer(sidecar, oip([[1.0, 0, 0]], request_id="one"))
        sidecar.wait_for_samples(1)
        status, _ = sidecar.post("/v1/feedback", [{"id": "one", "label": 1}])

        assert status == 200
        [row] = sidecar.json("/v1/labeled")["rows"]
        assert (row["label"], row["modelVersion"]) == (1, "3")
        assert sidecar.json("/v1/window")["pod"]["modelVersion"] == "3"
    finally:
        sidecar.stop()


def test_a_sidecar_without_a_model_version_reports_none(fresh: Sidecar) -> None:
    assert "modelVersion" not in fresh.json("/v1/window")["pod"]


@pytest.mark.parametrize(
    ("settings", "in_monitor_queue"),
    [
        # The worker sleeps a minute between batches: the sample reaches the monitor process at
        # once but would only be parsed a minute later, so the label makes the worker catch up.
        pytest.param("batchInterval: 60s\nforwardInterval: 10ms\n", True, id="received"),
        # The proxy process would hold the sample for a minute: the label makes the monitor
        # fetch it (a sync over the socketpair), then parse it.
        pytest.param("forwardInterval: 60s\n", False, id="in-the-proxy-process"),
    ],
)
def test_a_label_for_a_sample_not_parsed_yet_is_joined_not_unknown(
    model: ModelServer, baseline_file: Path, tmp_path: Path, settings: str, in_monitor_queue: bool
) -> None:
    config = tmp_path / "slow.yaml"
    config.write_text("sampleRate: 1.0\nmaxSamplesPerSecond: null\n" + settings)
    sidecar = start_sidecar(model.port, baseline_file, "--config", str(config))
    try:
        infer(sidecar, oip([[1.0, 0, 0]]), [("X-Request-ID", "early-label")])
        if in_monitor_queue:
            sidecar.wait_metric("kubedrift_queue_depth", 1)
        assert sidecar.json("/v1/window")["current"]["samples"] == 0  # not parsed yet

        status, body = sidecar.post(
            "/v1/feedback", [{"id": "early-label", "label": 1}, {"id": "never-sent", "label": 0}]
        )

        assert status == 200
        answer = json.loads(body)
        assert (answer["joined"], answer["unknown"]) == (1, 1)
        assert sidecar.json("/v1/window")["current"]["samples"] == 1
    finally:
        sidecar.stop()


def test_window_holds_exactly_the_sampled_rows(fresh: Sidecar, baseline_file: Path) -> None:
    rng = np.random.default_rng(3)
    batches = [rng.normal(size=(int(n), 3)).round(3).tolist() for n in rng.integers(1, 6, size=20)]
    for batch in batches:
        assert infer(fresh, oip(batch), [("X-Request-ID", "w")])[0] == 200
    total = sum(len(b) for b in batches)
    fresh.wait_for_samples(total)

    served = fresh.json("/v1/window")

    baseline = Baseline.from_json(baseline_file.read_text())
    expected = Window(baseline, start=0.0)
    values = np.array([row for batch in batches for row in batch])
    expected.update(
        {f"x-{i}": values[:, i] for i in range(3)}, predictions=(values[:, 0] > 0).astype(np.int64)
    )
    window = Window.from_dict(served["current"], baseline)
    assert served["pod"]["name"]
    assert served["current"]["start"] <= served["current"]["end"] <= served["time"]
    assert window.samples == total
    assert served["current"]["columns"] == expected.to_dict()["columns"]


def test_metrics_count_requests_rows_and_unparsable_exchanges_by_reason(fresh: Sidecar) -> None:
    for _ in range(3):
        infer(fresh, oip([[1.0, 2.0, 3.0]]), [("X-Request-ID", "m")])
    raw_exchange(
        fresh.port, http_request("POST", "/echo", b"\x00 not json", [("X-Request-ID", "j")])
    )
    raw_exchange(
        fresh.port, http_request("POST", "/echo", b'{"unrelated": 1}', [("X-Request-ID", "u")])
    )
    infer(fresh, b"garbage the model rejects with 400", [("X-Request-ID", "s")])
    raw_exchange(fresh.port, http_request("GET", "/echo"))
    fresh.wait_processed(6)
    fresh.wait_metric("kubedrift_proxy_request_duration_seconds_count", 7)

    assert fresh.metric("kubedrift_requests_total", {"code": "2xx"}) == 6
    assert fresh.metric("kubedrift_requests_total", {"code": "4xx"}) == 1
    assert fresh.metric("kubedrift_samples_total") == 6  # POSTs only
    assert fresh.metric("kubedrift_rows_total", {"model": ""}) == 3
    assert fresh.metric("kubedrift_exchanges_parsed_total", {"protocol": "open-inference-v2"}) == 3
    assert fresh.metric("kubedrift_unparsable_total", {"reason": "invalid_json"}) == 1
    assert fresh.metric("kubedrift_unparsable_total", {"reason": "unknown_protocol"}) == 1
    assert fresh.metric("kubedrift_unparsable_total", {"reason": "status"}) == 1
    assert fresh.metric("kubedrift_proxy_request_duration_seconds_count") == 7
    assert fresh.metric("kubedrift_samples_dropped_total") == 0


def test_sigterm_lets_the_request_in_flight_finish(fresh: Sidecar, model: ModelServer) -> None:
    answers: list[bytes] = []
    before = len(model.received)
    request = http_request(
        "POST", "/slow", b"in flight", [("X-Delay", "1.0"), ("X-Request-ID", "d")]
    )
    client = threading.Thread(target=lambda: answers.append(raw_exchange(fresh.port, request)))
    client.start()
    wait_for(
        "the model to receive the slow request",
        lambda: any(r.path == "/slow" for r in model.received[before:]),
        timeout=30,
        interval=0.01,
    )

    code = fresh.stop()
    client.join(timeout=60)
    assert not client.is_alive(), "the request in flight never got its answer"

    status, headers, body = split_response(answers[0])
    assert (status, body) == (200, b"in flight")
    assert ("Connection", "close") in headers
    assert code == 0


def test_admin_endpoints_need_the_bearer_token_when_one_is_configured(
    model: ModelServer, baseline_file: Path
) -> None:
    sidecar = start_sidecar(model.port, baseline_file, env={"KUBEDRIFT_SIDECAR_TOKEN": "s3cret"})
    try:
        anonymous = sidecar.get("/v1/window")[0]
        wrong = sidecar.get("/v1/window", token="guess")[0]
        right = sidecar.get("/v1/window", token="s3cret")[0]
        metrics = sidecar.get("/metrics")[0]
    finally:
        sidecar.stop()

    assert (anonymous, wrong, right, metrics) == (401, 401, 200, 200)


def test_mirror_mode_joins_cloudevents_on_ce_id_and_accepts_logged_pairs(
    model: ModelServer, baseline_file: Path
) -> None:
    sidecar = start_sidecar(model.port, baseline_file, "--mode", "mirror", "--sample-rate", "1")
    try:
        event = {"ce-specversion": "1.0", "ce-id": "evt-1", "ce-source": "kserve"}
        response_type = {**event, "ce-type": "org.kubeflow.serving.inference.response"}
        request_type = {**event, "ce-type": "org.kubeflow.serving.inference.request"}
        answer = {"outputs": [{"name": "y", "shape": [1], "datatype": "INT64", "data": [1]}]}
        first = sidecar.post("/", answer, port=sidecar.port, headers=response_type)[0]
        second = sidecar.post(
            "/", json.loads(oip([[0.5, 0, 0]])), port=sidecar.port, headers=request_type
        )[0]
        logged = {
            "request": {"instances": [[-0.5, 1, 1]]},
            "response": {"predictions": [0]},
            "id": "log-1",
        }
        third = sidecar.post("/v1/log", logged, port=sidecar.port)[0]
        sidecar.wait_for_samples(2)
        _, feedback = sidecar.post(
            "/v1/feedback", [{"id": "evt-1", "label": 1}, {"id": "log-1", "label": 0}]
        )
    finally:
        sidecar.stop()

    assert (first, second, third) == (202, 202, 202)
    assert json.loads(feedback)["joined"] == 2
