"""One server, two models on one port: a sidecar watching one model keeps the other out of its
window, forwards it untouched and counts it by model (issue 22)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sidecar_model_server import ModelServer
from sidecar_process import Sidecar, http_request, raw_exchange, start_sidecar

from kubedrift.stats.baseline import Baseline
from kubedrift.stats.evaluation import evaluate
from kubedrift.stats.settings import EvaluationSettings
from kubedrift.stats.window import Window

REQUESTS = 20
ROWS = 10


def oip(rows: np.ndarray) -> bytes:
    tensor = {"name": "x", "shape": list(rows.shape), "datatype": "FP64"}
    return json.dumps({"inputs": [{**tensor, "data": rows.ravel().tolist()}]}).encode()


@pytest.fixture
def two_sidecars(model: ModelServer, baseline_file: Path) -> Iterator[tuple[Sidecar, Sidecar]]:
    """One sidecar watching model ``iris``, one watching the whole port (the old behaviour)."""
    started = []
    for name, extra in (("iris", "model: iris\n"), ("all", "")):
        config = baseline_file.parent / f"sidecar-{name}.yaml"
        config.write_text(
            f"sampleRate: 1.0\nmaxSamplesPerSecond: null\nbatchInterval: 20ms\n{extra}"
        )
        started.append(start_sidecar(model.port, baseline_file, "--config", str(config)))
    yield started[0], started[1]
    for sidecar in started:
        sidecar.stop()


def by_model(sidecar: Sidecar) -> dict[tuple[str, str], float]:
    return {
        (dict(labels)["model"], dict(labels)["monitored"]): value
        for (name, labels), value in sidecar.metrics().items()
        if name == "kubedrift_model_exchanges_total"
    }


def wait_counted(sidecar: Sidecar, exchanges: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while sum(by_model(sidecar).values()) < exchanges:
        assert time.monotonic() < deadline, "the monitor did not count every exchange"
        time.sleep(0.05)


def verdict(sidecar: Sidecar, baseline_file: Path) -> tuple[int, str]:
    baseline = Baseline.from_json(baseline_file.read_text())
    window = Window.from_dict(sidecar.json("/v1/window")["current"], baseline)
    return window.samples, evaluate(baseline, window, EvaluationSettings()).verdict


def test_a_sidecar_for_one_model_keeps_the_other_models_drifting_traffic_out(
    model: ModelServer, baseline_file: Path, two_sidecars: tuple[Sidecar, Sidecar]
) -> None:
    iris_sidecar, whole_port = two_sidecars
    rng = np.random.default_rng(22)
    for index in range(REQUESTS):
        # iris's traffic looks like its baseline; wine's is shifted by 4 standard deviations
        for path, shift in (("/v2/models/iris/infer", 0.0), ("/v2/models/wine/infer", 4.0)):
            request = http_request(
                "POST",
                path,
                oip(rng.normal(loc=shift, size=(ROWS, 3))),
                [("X-Request-ID", f"r{index}")],
            )
            direct = raw_exchange(model.port, request)
            for sidecar in two_sidecars:
                assert raw_exchange(sidecar.port, request) == direct  # forwarded untouched

    for sidecar in two_sidecars:
        wait_counted(sidecar, 2 * REQUESTS)
    assert by_model(iris_sidecar) == {("iris", "true"): REQUESTS, ("wine", "false"): REQUESTS}
    assert by_model(whole_port) == {("iris", "true"): REQUESTS, ("wine", "true"): REQUESTS}
    assert verdict(iris_sidecar, baseline_file) == (REQUESTS * ROWS, "ok")
    assert verdict(whole_port, baseline_file) == (2 * REQUESTS * ROWS, "drift")
    report = iris_sidecar.json("/v1/window")
    assert (report["model"], report["schemaMismatches"]) == ("iris", 0)
    assert iris_sidecar.metric("kubedrift_monitored_model_info", {"model": "iris"}) == 1
    assert whole_port.json("/v1/window")["model"] is None
