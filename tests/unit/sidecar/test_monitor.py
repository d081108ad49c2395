"""The monitor, driven directly: samples in, window rows, label keys and counted failures out."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from kubedrift.payloads import ParseOptions
from kubedrift.sidecar.label_store import LabelStore
from kubedrift.sidecar.monitor import Monitor
from kubedrift.sidecar.sampling import Sample
from kubedrift.sidecar.sidecar_metrics import make_metrics
from kubedrift.sidecar.windows import WindowKeeper
from kubedrift.stats.baseline import build_baseline
from kubedrift.stats.settings import WindowSettings


@pytest.fixture
def monitor() -> Monitor:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(500, 2))
    baseline = build_baseline(
        {
            "a": values[:, 0],
            "b": values[:, 1],
            "p": (values[:, 0] > 0).astype(int),
            "y": (values[:, 0] > 0).astype(int),
        },
        prediction="p",
        label="y",
    )
    windows = WindowKeeper(
        baseline, WindowSettings(samples=4, max_age_seconds=1e9), now=0.0, seed=1
    )
    return Monitor(
        baseline,
        windows,
        LabelStore(100, 60.0),
        make_metrics(CollectorRegistry()),
        options=ParseOptions(("a", "b")),
    )


def kserve(rows: list[list[float]], predictions: list[int], **ids: str) -> Sample:
    return Sample(
        path="/v1/models/m:predict",
        status=200,
        request_body=json.dumps({"instances": rows}).encode(),
        response_body=json.dumps({"predictions": predictions}).encode(),
        **ids,  # type: ignore[arg-type]
    )


def value(monitor: Monitor, name: str, labels: dict[str, str] | None = None) -> float | None:
    return monitor.metrics.registry.get_sample_value(name, labels or {})


def test_rows_of_a_batch_go_to_the_window_and_the_window_rotates_when_full(
    monitor: Monitor,
) -> None:
    added = monitor.process([kserve([[1, 2], [3, 4]], [1, 1]), kserve([[-1, 0]], [0])], now=1.0)
    rotated = monitor.process([kserve([[5, 5]], [1])], now=2.0)
    after = monitor.process([kserve([[6, 6]], [1])], now=3.0)

    assert (added, rotated, after) == (3, 1, 1)
    assert monitor.windows.completed is not None and monitor.windows.completed.samples == 4
    assert monitor.windows.current.samples == 1
    assert value(monitor, "kubedrift_window_rotations_total", {"model": ""}) == 1
    assert value(monitor, "kubedrift_rows_total", {"model": ""}) == 5


def test_unusable_exchanges_are_counted_by_reason_and_skipped(monitor: Monitor) -> None:
    failed = Sample(path="/", status=503, request_body=b"{}", response_body=b"")
    truncated = Sample(path="/", status=200, request_body=b"", response_body=b"", truncated=True)
    garbage = Sample(path="/", status=200, request_body=b"<xml/>", response_body=b"")

    assert monitor.process([failed, truncated, garbage, kserve([[1, 1]], [1])], now=1.0) == 1
    for reason in ("status", "truncated", "invalid_json"):
        assert value(monitor, "kubedrift_unparsable_total", {"reason": reason}) == 1


def test_ce_id_is_the_preferred_label_key_and_every_id_is_stored(monitor: Monitor) -> None:
    monitor.process(
        [kserve([[1, 1]], [1], ce_id="ce", x_request_id="xr", generated_id="gen")], now=1.0
    )

    answer = monitor.feedback([{"id": "xr", "label": 1}, {"id": "ce", "label": 1}], now=2.0)

    assert (answer["joined"], answer["duplicate"]) == (1, 1)
    assert monitor.windows.current.labeled == 1


def test_exchange_without_predictions_is_not_stored_for_labels(monitor: Monitor) -> None:
    sample = Sample(
        path="/",
        status=200,
        request_body=b'{"instances": [[1, 2]]}',
        response_body=b"oops",
        x_request_id="r",
    )

    monitor.process([sample], now=1.0)

    assert monitor.feedback([{"id": "r", "label": 1}], now=2.0)["unknown"] == 1
    assert monitor.windows.current.samples == 1


def test_fanned_out_label_for_an_unknown_id_is_answered_but_not_counted(monitor: Monitor) -> None:
    monitor.process([kserve([[1, 1]], [1], x_request_id="here")], now=1.0)
    items: list[dict[str, Any]] = [
        {"id": "elsewhere", "label": 1},
        {"id": "here", "label": 1},
        {"label": 0},
    ]

    answer = monitor.feedback(items, now=2.0, fanout=True)

    assert (answer["unknown"], answer["joined"], answer["invalid"]) == (1, 1, 1)
    assert answer["rejected"] == [
        {"id": "elsewhere", "outcome": "unknown"},
        {"id": "None", "outcome": "invalid"},
    ]
    assert value(monitor, "kubedrift_labels_total", {"outcome": "unknown"}) == 0
    assert value(monitor, "kubedrift_labels_total", {"outcome": "joined"}) == 1
    assert value(monitor, "kubedrift_labels_total", {"outcome": "invalid"}) == 1


def test_label_for_an_unknown_id_sent_to_this_pod_alone_is_counted(monitor: Monitor) -> None:
    monitor.feedback([{"id": "elsewhere", "label": 1}], now=2.0)

    assert value(monitor, "kubedrift_labels_total", {"outcome": "unknown"}) == 1


def test_an_integer_beyond_the_float_range_is_a_missing_value_not_a_lost_batch(
    monitor: Monitor,
) -> None:
    huge = Sample(
        path="/v1/models/m:predict",
        status=200,
        request_body=b'{"instances": [[1' + b"0" * 400 + b", 2]]}",
        response_body=b'{"predictions": [1]}',
    )

    assert monitor.process([kserve([[1, 2]], [1]), huge], now=1.0) == 2
    window = monitor.windows.current
    assert window.samples == 2
    assert window.missing.tolist()[:2] == [1, 0]  # features a and b: "a" of the second row
    assert value(monitor, "kubedrift_monitor_errors_total", {"stage": "window_update"}) in (None, 0)


def test_with_a_model_set_only_its_exchanges_reach_the_window_the_rest_are_counted_by_model(
    monitor: Monitor,
) -> None:
    one_model = Monitor(
        monitor.baseline,
        monitor.windows,
        monitor.labels,
        monitor.metrics,
        options=monitor.options,
        model="m",
    )
    other = Sample(
        path="/v1/models/wine:predict",
        status=503,  # another model's failure is not this model's unparsable exchange
        request_body=b'{"instances": [[9, 9]]}',
        response_body=b"",
    )

    added = one_model.process([kserve([[1, 2]], [1]), other, kserve([[3, 4]], [1])], now=1.0)

    assert added == 2
    assert value(one_model, "kubedrift_unparsable_total", {"reason": "status"}) == 0
    exchanges = "kubedrift_model_exchanges_total"
    assert value(one_model, exchanges, {"model": "m", "monitored": "true"}) == 2
    assert value(one_model, exchanges, {"model": "wine", "monitored": "false"}) == 1
    assert value(one_model, "kubedrift_monitored_model_info", {"model": "m"}) == 1


def test_exchanges_whose_columns_match_no_baseline_feature_are_counted_as_schema_mismatch(
    monitor: Monitor,
) -> None:
    def oip(name: str) -> Sample:
        tensor = {"name": name, "shape": [1, 2], "datatype": "FP64", "data": [1.0, 2.0]}
        return Sample(
            path="/v2/models/m/infer",
            status=200,
            request_body=json.dumps({"inputs": [tensor]}).encode(),
            response_body=b"",
        )

    # "input-1" gives input-1-0, input-1-1: neither is a (or b); twice, the second from the cache
    monitor.process([oip("input-1"), kserve([[1, 2]], [1]), oip("input-1")], now=1.0)

    assert monitor.schema_mismatches == 2
    assert value(monitor, "kubedrift_schema_mismatch_total", {"model": ""}) == 2
    assert monitor.windows.current.samples == 3  # still rows: their predictions count
