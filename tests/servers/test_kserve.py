"""The sidecar in front of KServe 0.21.0's Python model server hosting two models on one port,
with requests encoded the way KServe's own REST client encodes them: KServe v1 ``instances``,
OIP v2 JSON and OIP v2 binary tensors (issue 22).

Every exchange comes through byte for byte; the sidecar watches ``iris`` only; the positional
v1 rows and the ``input-0`` tensor both become the baseline's features, and the class indices
the model answers become the class names listed in the config.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
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

FEATURES = ("f0", "f1", "f2", "f3")
CLASSES = ("high", "low")  # class index 0 is "high"


@pytest.fixture(scope="module")
def baseline(kserve: ModelServerProcess) -> Path:
    """2000 seeded N(0, 1) rows; the class is "high" when the first two values sum above 0."""
    x = np.random.default_rng(5).normal(size=(2000, len(FEATURES)))
    classes = [CLASSES[0] if a + b > 0 else CLASSES[1] for a, b in x[:, :2]]
    columns = {name: x[:, j] for j, name in enumerate(FEATURES)}
    return write_baseline(kserve.directory, columns, classes)


@pytest.fixture(scope="module")
def sidecar(kserve: ModelServerProcess, baseline: Path) -> Iterator[Sidecar]:
    config = kserve.directory / "sidecar.yaml"
    config.write_text(
        "sampleRate: 1.0\nmaxSamplesPerSecond: null\nbatchInterval: 20ms\nmodel: iris\n"
        f"payload:\n  features: {{positions: [{', '.join(FEATURES)}]}}\n"
        f"  classes: [{', '.join(CLASSES)}]\n"
    )
    process = start_sidecar(kserve.port, baseline, "--config", str(config))
    yield process
    process.stop()


def exchange(port: int, item: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = list(item["headers"].items())
    request = http_request("POST", item["path"], base64.b64decode(item["body"]), headers)
    return split_response(raw_exchange(port, request))


def without_date(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name.lower() != "date"]


def test_kserve_v1_and_v2_exchanges_pass_untouched_and_only_iris_is_parsed(
    kserve: ModelServerProcess, baseline: Path, sidecar: Sidecar
) -> None:
    kinds = {item["kind"] for item in kserve.requests}
    assert kinds == {"v1", "v2-json", "v2-binary"}
    sent: list[tuple[tuple[float, ...], str]] = []
    for item in kserve.requests:
        direct = exchange(kserve.port, item)
        proxied = exchange(sidecar.port, item)
        assert direct[0] == 200, direct[2]
        # the same bytes but for the Date header, which the server sets per second
        assert (proxied[0], without_date(proxied[1]), proxied[2]) == (
            direct[0], without_date(direct[1]), direct[2],
        )  # fmt: skip
        if item["model"] == "iris":
            classes = [CLASSES[0] if a + b > 0 else CLASSES[1] for a, b, *_ in item["rows"]]
            sent.extend(zip((tuple(row) for row in item["rows"]), classes, strict=True))

    requests = len(kserve.requests) // 2
    deadline = time.monotonic() + 30
    counted = "kubedrift_model_exchanges_total"
    while sidecar.metrics().get((counted, (("model", "wine"), ("monitored", "false")))) != requests:
        assert time.monotonic() < deadline, "the monitor did not count the wine exchanges"
        time.sleep(0.05)
    assert sidecar.metric(counted, {"model": "iris", "monitored": "true"}) == requests
    assert sidecar.metric("kubedrift_unparsable_total", {"reason": "binary_unsupported"}) == 0
    report = sidecar.json("/v1/window")
    assert (report["model"], report["schemaMismatches"]) == ("iris", 0)
    profile = Baseline.from_json(baseline.read_text())
    window = Window.from_dict(report["current"], profile)
    assert window.samples == len(sent)
    # features, the multivariate error and the prediction
    assert window.missing.tolist() == [0] * (len(FEATURES) + 2)
    assert evaluate(profile, window, EvaluationSettings()).verdict == "ok"

    # Labels joined by request id give back each parsed row with its prediction.
    iris = [item for item in kserve.requests if item["model"] == "iris"]
    feedback = [{"id": item["name"], "label": [CLASSES[0]] * len(item["rows"])} for item in iris]
    status, answer = sidecar.post("/v1/feedback", feedback)
    assert (status, json.loads(answer)["joined"]) == (200, len(iris))
    labeled = sidecar.json("/v1/labeled")["rows"]
    got = sorted(
        (tuple(row["features"][name] for name in FEATURES), row["prediction"]) for row in labeled
    )
    assert got == sorted(sent)
