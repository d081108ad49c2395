"""The sidecar in front of a real MLServer 1.7.1 (scikit-learn runtime) hosting two models on one
port, with requests built by MLServer's own codecs (issue 22).

Every exchange comes through byte for byte; the sidecar watches ``iris`` only, so the drifting
``wine`` traffic stays out of its window; ``NumpyRequestCodec``'s ``input-1`` tensor and the pandas
codec's one tensor per column both become the baseline's four features, and the
``predict_proba`` output becomes the baseline's class names.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubedrift.stats.baseline import Baseline
from kubedrift.stats.evaluation import evaluate
from kubedrift.stats.settings import EvaluationSettings
from kubedrift.stats.window import Window
from support.model_servers import ModelServerProcess, write_baseline
from support.sidecar_process import (
    Sidecar,
    http_request,
    raw_exchange,
    split_response,
    start_sidecar,
)

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
CLASSES = ("high", "low")  # the baseline's classes, sorted: scikit-learn's classes_ order


@pytest.fixture(scope="module")
def baseline(mlserver: ModelServerProcess) -> Path:
    """The models' training rows; prediction and label are the training labels (high, low)."""
    training = json.loads((mlserver.directory / "training.json").read_text())
    return write_baseline(mlserver.directory, training["columns"], training["label"])


@pytest.fixture(scope="module")
def sidecar(mlserver: ModelServerProcess, baseline: Path) -> Iterator[Sidecar]:
    config = mlserver.directory / "sidecar.yaml"
    config.write_text(
        "sampleRate: 1.0\nmaxSamplesPerSecond: null\nbatchInterval: 20ms\nmodel: iris\n"
        f"payload:\n  features: {{positions: [{', '.join(FEATURES)}]}}\n"
        "  classesFromBaseline: true\n"
    )
    process = start_sidecar(mlserver.port, baseline, "--config", str(config))
    yield process
    process.stop()


def exchange(port: int, item: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    request = http_request(
        "POST",
        f"/v2/models/{item['model']}/infer",
        item["body"].encode(),
        [("Content-Type", "application/json"), ("X-Request-ID", item["name"])],
    )
    return split_response(raw_exchange(port, request))


def without_date(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name.lower() != "date"]


def predicted_classes(body: bytes) -> list[str]:
    (output,) = json.loads(body)["outputs"]
    assert (output["name"], output["shape"][1]) == ("predict_proba", 2)
    pairs = zip(output["data"][::2], output["data"][1::2], strict=True)
    return [CLASSES[0] if high >= low else CLASSES[1] for high, low in pairs]


def test_mlserver_exchanges_pass_untouched_and_only_iris_is_parsed_into_baseline_columns(
    mlserver: ModelServerProcess, baseline: Path, sidecar: Sidecar
) -> None:
    expected: dict[str, tuple[list[list[float]], list[str]]] = {}
    for item in mlserver.requests:
        direct = exchange(mlserver.port, item)
        proxied = exchange(sidecar.port, item)
        assert direct[0] == 200, direct[2]
        # the same bytes but for the Date header, which the server sets per second
        assert (proxied[0], without_date(proxied[1]), proxied[2]) == (
            direct[0], without_date(direct[1]), direct[2],
        )  # fmt: skip
        if item["model"] == "iris":
            expected[item["name"]] = (item["rows"], predicted_classes(proxied[2]))

    deadline = time.monotonic() + 30
    counted = "kubedrift_model_exchanges_total"
    while sidecar.metrics().get((counted, (("model", "wine"), ("monitored", "false")))) != 10:
        assert time.monotonic() < deadline, "the monitor did not count the wine exchanges"
        time.sleep(0.05)
    assert sidecar.metric(counted, {"model": "iris", "monitored": "true"}) == 10
    report = sidecar.json("/v1/window")
    assert (report["model"], report["schemaMismatches"]) == ("iris", 0)
    profile = Baseline.from_json(baseline.read_text())
    window = Window.from_dict(report["current"], profile)
    assert window.samples == 80  # 10 iris requests of 8 rows; none of wine's 80
    # both codecs' names became the four features; every row has its multivariate error (the
    # 5th column) and its prediction (the 6th)
    assert window.missing.tolist() == [0, 0, 0, 0, 0, 0]
    assert evaluate(profile, window, EvaluationSettings()).verdict == "ok"

    # Labels joined by request id give back each parsed row with its prediction: the exact
    # columns and classes that went into the window.
    feedback = [{"id": name, "label": classes} for name, (_, classes) in expected.items()]
    status, answer = sidecar.post("/v1/feedback", feedback)
    assert (status, json.loads(answer)["joined"]) == (200, 10)
    labeled = sidecar.json("/v1/labeled")["rows"]
    got = sorted(
        (tuple(row["features"][name] for name in FEATURES), row["prediction"]) for row in labeled
    )
    sent = sorted(
        (tuple(values), predicted)
        for rows, classes in expected.values()
        for values, predicted in zip(rows, classes, strict=True)
    )
    assert got == sent
