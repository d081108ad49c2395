"""`kubedrift backtest` with ``spec.segments``: per-segment verdicts, evidence and metrics in
``evaluations[].segments``, segment alarms in ``segment_alerts`` (``alerts`` keeps the monitor's
conditions only)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kubedrift.cli import main

MONITOR = """\
apiVersion: kubedrift.io/v1alpha1
kind: ModelMonitor
metadata: {name: shop}
spec:
  target: {deployment: shop, port: 8080}
  baseline: {configMapRef: {name: shop-baseline}}
  window: {samples: 1500, minSamples: 300, maxAge: 1h}
  performance: {metric: accuracy, threshold: 0.6, minLabeledSamples: 200}
  segments: {feature: color, top: 3}
"""


def write(path: Path, n: int, seed: int, *, blue_breaks_after: int | None = None) -> Path:
    """A toy classifier (``pred = a > 0``, labels agree about 75% of the time) over three
    colors; after ``blue_breaks_after`` rows the blue rows' ``b`` moves by one sd and their
    labels become coin flips (the model fails for blue only)."""
    rng = np.random.default_rng(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("a", "b", "color", "pred", "y"))
        for i in range(n):
            color = str(rng.choice(["red", "green", "blue"]))
            broken = color == "blue" and blue_breaks_after is not None and i >= blue_breaks_after
            a, b, noise = rng.normal(), rng.normal() + (1.0 if broken else 0.0), rng.normal()
            y = int(noise > 0) if broken else int(a + noise > 0)
            writer.writerow((f"{a:.6f}", f"{b:.6f}", color, int(a > 0), y))
    return path


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    baseline = tmp_path / "baseline.json"
    train = write(tmp_path / "train.csv", 6000, seed=1)
    command = ["baseline", "build", "--data", str(train), "--prediction", "pred", "--label", "y"]
    assert main([*command, "--segment", "color", "-o", str(baseline)]) == 0
    monitor = tmp_path / "monitor.yaml"
    monitor.write_text(MONITOR)
    return monitor, baseline


def backtest(
    setup: tuple[Path, Path], data: Path, capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    monitor, baseline = setup
    capsys.readouterr()
    command = ["backtest", "--monitor", str(monitor), "--baseline", str(baseline)]
    assert main([*command, "--data", str(data), "--rate", "10", "--format", "json"]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def test_a_failure_confined_to_one_segment_alarms_that_segment_only(
    setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write(tmp_path / "stream.csv", 9000, seed=2, blue_breaks_after=3000)
    document = backtest(setup, data, capsys)
    alarms = {(a["segment"], a["type"]) for a in document["segment_alerts"]}
    assert alarms == {("blue", "SegmentDriftDetected"), ("blue", "SegmentPerformanceDegraded")}
    drift = next(a for a in document["segment_alerts"] if a["type"] == "SegmentDriftDetected")
    assert drift["row"] > 3000 and drift["detail"].startswith("Drift: 1 of 2 features drifted")
    last = {s["value"]: s for s in document["evaluations"][-1]["segments"]}
    assert sorted(last) == ["blue", "green", "red"]
    assert (last["blue"]["verdict"], last["blue"]["drifted_features"]) == ("drift", ["b"])
    assert last["blue"]["degraded"] and not last["red"]["degraded"]
    assert last["blue"]["performance"]["value"] < 0.6 < last["red"]["performance"]["value"]
    assert (last["red"]["verdict"], last["green"]["verdict"]) == ("ok", "ok")
    threshold = document["engine"]["segment_threshold"]
    assert threshold > document["engine"]["threshold"]
    # The monitor's own alerts keep their types: no segment type leaks into them.
    assert {a["type"] for a in document["alerts"]} <= {
        "DriftDetected",
        "PerformanceDegraded",
        "ErrorRateShift",
        "DataQualityDegraded",
    }


def test_a_stable_stream_raises_no_segment_alarm(
    setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = backtest(setup, write(tmp_path / "stream.csv", 9000, seed=3), capsys)
    assert document["segment_alerts"] == []
    assert document["alerts"] == []
    verdicts = {s["verdict"] for e in document["evaluations"][10:] for s in e["segments"]}
    assert verdicts == {"ok"}


def test_segments_need_a_baseline_that_profiles_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "plain.json"
    train = write(tmp_path / "train.csv", 3000, seed=1)
    assert main(["baseline", "build", "--data", str(train), "-o", str(baseline)]) == 0
    monitor = tmp_path / "monitor.yaml"
    monitor.write_text(MONITOR)
    capsys.readouterr()
    command = ["backtest", "--monitor", str(monitor), "--baseline", str(baseline)]
    assert main([*command, "--data", str(train)]) == 2
    assert "kubedrift baseline build --segment color" in capsys.readouterr().err
