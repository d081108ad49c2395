"""Class probabilities from responses reach the window's estimation sums and the tally."""

from __future__ import annotations

import json

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from kubedrift.payloads import ParseOptions
from kubedrift.payloads.probabilities import ProbabilitySource, extract
from kubedrift.sidecar.config import ConfigError, config_from_mapping
from kubedrift.sidecar.label_store import LabelStore
from kubedrift.sidecar.monitor import Monitor
from kubedrift.sidecar.sampling import Sample
from kubedrift.sidecar.sidecar_metrics import make_metrics
from kubedrift.sidecar.windows import WindowKeeper
from kubedrift.stats.baseline import Baseline, build_baseline
from kubedrift.stats.settings import WindowSettings


def calibrated_baseline() -> Baseline:
    rng = np.random.default_rng(0)
    x = rng.normal(size=2_000)
    p = 1 / (1 + np.exp(-2 * x))
    y = (rng.uniform(size=x.size) < p).astype(int)
    return build_baseline(
        {"x": x, "p1": p, "pred": (p >= 0.5).astype(int), "y": y},
        features=["x"],
        prediction="pred",
        label="y",
        probabilities=["p1"],
    )


def make_monitor(baseline: Baseline, source: ProbabilitySource | None) -> Monitor:
    windows = WindowKeeper(baseline, WindowSettings(samples=100, max_age_seconds=1e9), now=0.0)
    return Monitor(
        baseline,
        windows,
        LabelStore(100, 60.0),
        make_metrics(CollectorRegistry()),
        options=ParseOptions(("x",), prediction_output="label"),
        probabilities=source,
    )


def oip(xs: list[float], probabilities: list[list[float]] | None) -> Sample:
    outputs = [{"name": "label", "shape": [len(xs)], "datatype": "INT64", "data": [0] * len(xs)}]
    if probabilities is not None:
        flat = [v for row in probabilities for v in row]
        outputs.append({"name": "proba", "shape": [len(xs), 2], "datatype": "FP64", "data": flat})
    request = {"inputs": [{"name": "x", "shape": [len(xs)], "datatype": "FP64", "data": xs}]}
    return Sample(
        path="/v2/models/m/infer",
        status=200,
        request_body=json.dumps(request).encode(),
        response_body=json.dumps({"outputs": outputs}).encode(),
    )


def test_probabilities_of_an_oip_output_feed_the_estimation_sums_and_the_tally() -> None:
    monitor = make_monitor(calibrated_baseline(), ProbabilitySource(output="proba"))
    monitor.process([oip([0.1, -2.0], [[0.4, 0.6], [0.9, 0.1]]), oip([3.0], None)], now=1.0)
    window = monitor.windows.current
    assert window.samples == 3
    assert window.estimation is not None
    assert window.estimation.rows == 2  # the exchange without probabilities only counts rows
    cumulative = monitor.windows.cumulative()
    assert cumulative.estimation is not None
    assert cumulative.estimation.rows == 2
    assert "estimation" in cumulative.to_dict()


def test_without_calibration_maps_probabilities_are_not_read() -> None:
    baseline = build_baseline({"x": np.arange(100.0)})
    monitor = make_monitor(baseline, ProbabilitySource(output="proba"))
    monitor.process([oip([0.1], [[0.4, 0.6]])], now=1.0)
    assert monitor.windows.current.estimation is None
    assert "estimation" not in monitor.windows.cumulative().to_dict()


@pytest.mark.parametrize(
    ("body", "rows", "expected"),
    [
        (b'{"p": [[0.2, 0.8], [0.5, 0.5]]}', 2, [[0.2, 0.8], [0.5, 0.5]]),
        (b'{"p": [0.2, 0.8]}', 3, None),  # wrong number of rows
        (b'{"p": [[0.2, 0.8], [0.5]]}', 2, None),  # ragged
        (b'{"p": ["a", "b"]}', 2, None),  # not numbers
        (b'{"q": [0.2]}', 1, None),  # missing
        (b"not json", 1, None),
    ],
)
def test_json_path_probabilities(body: bytes, rows: int, expected: object) -> None:
    assert extract(ProbabilitySource(path="response.p"), body, rows) == expected


def test_config_takes_exactly_one_probability_source() -> None:
    base = {"upstream": "http://127.0.0.1:8080", "baseline": "/b.json"}
    config = config_from_mapping(base | {"payload": {"probabilities": {"output": "proba"}}})
    assert config.probabilities == ProbabilitySource(output="proba")
    with pytest.raises(ConfigError, match="exactly one"):
        config_from_mapping(base | {"payload": {"probabilities": {"output": "a", "path": "b"}}})
