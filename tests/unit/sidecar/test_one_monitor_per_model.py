"""One server, two models on one port: a sidecar watching one model keeps the other out of its
window, forwards it untouched and counts it by model (issue 22)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kubedrift.stats.baseline import Baseline
from kubedrift.stats.evaluation import evaluate
from kubedrift.stats.settings import EvaluationSettings
from kubedrift.stats.window import Window
from support.sidecar_model_server import ModelServer
from support.sidecar_process import Sidecar, http_request, raw_exchange, start_sidecar

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


def test_in_mirror_mode_a_logged_pair_selects_its_model_by_path_and_cloudevents_count_as_ours(
    model: ModelServer, baseline_file: Path
) -> None:
    config = baseline_file.parent / "sidecar-mirror.yaml"
    config.write_text("mode: mirror\nsampleRate: 1.0\nbatchInterval: 20ms\nmodel: iris\n")
    sidecar = start_sidecar(model.port, baseline_file, "--config", str(config))
    try:
        output = {"name": "y", "shape": [1], "datatype": "INT64", "data": [0]}
        pair = {"request": json.loads(oip(np.zeros((1, 3)))), "response": {"outputs": [output]}}
        for path in ("/v2/models/iris/infer", "/v2/models/wine/infer"):
            assert sidecar.post("/v1/log", {**pair, "path": path}, port=sidecar.port)[0] == 202
        event = {"ce-specversion": "1.0", "ce-id": "evt-1", "ce-source": "kserve"}
        for kind, body in (("request", pair["request"]), ("response", pair["response"])):
            headers = {**event, "ce-type": f"org.kubeflow.serving.inference.{kind}"}
            assert sidecar.post("/", body, port=sidecar.port, headers=headers)[0] == 202
        wait_counted(sidecar, 3)
        counts = by_model(sidecar)
        samples = sidecar.json("/v1/window")["current"]["samples"]
    finally:
        sidecar.stop()

    # the CloudEvent names no path: counted as the monitored model's (a collector serves one)
    assert counts == {("iris", "true"): 2, ("wine", "false"): 1}
    assert samples == 2


def test_a_shared_sidecar_keeps_one_window_per_model_with_its_own_settings_and_token(
    model: ModelServer, baseline_file: Path
) -> None:
    """Two monitors (iris, wine) share one sidecar (``--model-config``): each model's rows go
    to its own window, against its own baseline and window settings, read with ``?model=`` and
    either monitor's token; the metrics carry the model."""
    iris = baseline_file.parent / "iris.yaml"
    iris.write_text(
        "sampleRate: 1.0\nmaxSamplesPerSecond: null\nbatchInterval: 20ms\nmodel: iris\n"
        "auth: {tokenEnv: IRIS_TOKEN}\n"
    )
    wine = baseline_file.parent / "wine.yaml"
    wine.write_text(
        f"model: wine\nbaseline: {baseline_file}\nsampleRate: 1.0\n"
        "window: {samples: 100}\nauth: {tokenEnv: WINE_TOKEN}\n"
    )
    sidecar = start_sidecar(
        model.port, baseline_file, "--config", str(iris), "--model-config", str(wine),
        env={"IRIS_TOKEN": "iris-secret", "WINE_TOKEN": "wine-secret"}, token="wine-secret",
    )  # fmt: skip
    try:
        rng = np.random.default_rng(23)
        for index in range(REQUESTS):
            for path, shift in (
                ("/v2/models/iris/infer", 0.0),
                ("/v2/models/wine/infer", 4.0),
                ("/v2/models/rose/infer", 4.0),
            ):
                request = http_request(
                    "POST", path, oip(rng.normal(loc=shift, size=(ROWS, 3))),
                    [("X-Request-ID", f"{path.split('/')[3]}-{index}")],
                )  # fmt: skip
                assert raw_exchange(sidecar.port, request) == raw_exchange(model.port, request)
        wait_counted(sidecar, 3 * REQUESTS)
        counts = by_model(sidecar)
        # a label without ?model= reaches the model whose exchange carried its request id
        status, answer = sidecar.post("/v1/feedback", {"id": "wine-0", "label": [1] * ROWS})
        baseline = Baseline.from_json(baseline_file.read_text())
        reports = {name: sidecar.json(f"/v1/window?model={name}") for name in ("iris", "wine")}
        default = sidecar.json("/v1/window")
        # what the operator's rounds ask for: the same report without the labeled-row samples
        lean = sidecar.json("/v1/window?labeledRows=false&model=wine")
        unknown = sidecar.get("/v1/window?model=rose", token="iris-secret")[0]
        wrong_token = sidecar.get("/v1/window", token="rose-secret")[0]
        metrics = sidecar.metrics()
    finally:
        sidecar.stop()

    assert counts == {
        ("iris", "true"): REQUESTS, ("wine", "true"): REQUESTS, ("rose", "false"): REQUESTS
    }  # fmt: skip
    iris_window = Window.from_dict(reports["iris"]["current"], baseline)
    # wine's window holds 100 rows (its own setting): it rotated, and the full one drifted
    wine_window = Window.from_dict(reports["wine"]["completed"], baseline)
    assert (reports["iris"]["model"], reports["iris"]["rotations"]) == ("iris", 0)
    assert iris_window.samples == REQUESTS * ROWS
    assert evaluate(baseline, iris_window, EvaluationSettings()).verdict == "ok"
    assert reports["wine"]["model"] == "wine" and reports["wine"]["rotations"] >= 1
    assert wine_window.samples >= 100
    assert evaluate(baseline, wine_window, EvaluationSettings()).verdict == "drift"
    assert (status, json.loads(answer)["joined"]) == (200, 1), answer
    labeled = {name: report["current"]["labeled"] for name, report in reports.items()}
    assert labeled["iris"] == 0 and labeled["wine"] + wine_window.labeled == ROWS
    assert default["model"] == "iris" and default["models"] == ["iris", "wine"]
    assert "labeled_rows" in reports["wine"]["current"]
    assert "labeled_rows" not in lean["current"] and "labeled_rows" not in lean["completed"]
    assert lean["current"]["labeled"] == reports["wine"]["current"]["labeled"]
    assert (unknown, wrong_token) == (404, 401)
    rows = {
        dict(labels)["model"]: value
        for (name, labels), value in metrics.items()
        if name == "kubedrift_rows_total"
    }
    assert rows == {"iris": REQUESTS * ROWS, "wine": REQUESTS * ROWS}
