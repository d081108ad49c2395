"""`kubedrift baseline build --probabilities` and `kubedrift backtest` with the estimate on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kubedrift.cli import main

MONITOR = """\
apiVersion: kubedrift.io/v1alpha1
kind: ModelMonitor
metadata: {name: toy}
spec:
  target: {deployment: toy, port: 8080}
  baseline: {configMapRef: {name: toy-baseline}}
  capture: {probabilities: {output: predict_proba}}
  window: {samples: 1000, minSamples: 100, maxAge: 1h}
  drift: {minEffect: 0.02}
  performance: {metric: accuracy, threshold: 0.5, estimated: %s}
"""


def write(path: Path, rows: int, mean: float, seed: int, *, labels: bool = True) -> Path:
    """x, the model's (overconfident) probability of class 1, its prediction, the label."""
    rng = np.random.default_rng(seed)
    logit = 2 * rng.normal(mean, 1.0, rows) + rng.normal(size=rows)
    truth = 1 / (1 + np.exp(-logit))
    score = 1 / (1 + np.exp(-1.7 * logit))
    y = (rng.uniform(size=rows) < truth).astype(int)
    header = "x,p1,pred" + (",y" if labels else "")
    lines = [header] + [
        f"{x:.6f},{p:.6f},{int(p >= 0.5)}" + (f",{t}" if labels else "")
        for x, p, t in zip(logit, score, y, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def baseline(tmp_path: Path) -> Path:
    out = tmp_path / "baseline.json"
    data = write(tmp_path / "train.csv", 20_000, 1.0, seed=1)
    command = ["baseline", "build", "--data", str(data), "--features", "x"]
    command += ["--prediction", "pred", "--label", "y", "--probabilities", "p1", "-o", str(out)]
    assert main(command) == 0
    return out


def backtest(
    tmp_path: Path, baseline: Path, estimated: bool, capsys: pytest.CaptureFixture[str]
) -> dict:  # type: ignore[type-arg]
    monitor = tmp_path / "monitor.yaml"
    monitor.write_text(MONITOR % ("true" if estimated else "false"))
    stream = tmp_path / "stream.csv"
    rng_rows = [
        write(tmp_path / f"part{i}.csv", 2_000, mean, seed=10 + i, labels=False)
        for i, mean in enumerate((1.0, 1.0, 0.0, 0.0, 0.0))
    ]
    lines = [rng_rows[0].read_text().splitlines()[0]]
    for part in rng_rows:
        lines.extend(part.read_text().splitlines()[1:])
    stream.write_text("\n".join(lines) + "\n")
    command = ["backtest", "--monitor", str(monitor), "--baseline", str(baseline)]
    command += ["--data", str(stream), "--rate", "10", "--format", "json"]
    capsys.readouterr()
    assert main(command) == 0
    document: dict = json.loads(capsys.readouterr().out)  # type: ignore[type-arg]
    return document


def test_baseline_stores_the_calibration_map_and_its_columns(baseline: Path) -> None:
    document = json.loads(baseline.read_text())
    calibration = document["calibration"]
    assert calibration["classes"] == ["0", "1"] and calibration["columns"] == ["p1"]
    assert len(calibration["maps"]) == 1


def test_backtest_reports_the_estimated_alert_without_any_label(
    tmp_path: Path, baseline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = backtest(tmp_path, baseline, True, capsys)
    alerts = [a for a in document["alerts"] if a["type"] == "EstimatedPerformanceDegraded"]
    assert len(alerts) == 1
    assert alerts[0]["condition"] == "PerformanceDegraded"
    assert alerts[0]["row"] == 7_500  # seeded: 3,500 rows after the shift at row 4,000
    assert "estimated without labels" in alerts[0]["detail"]
    last = document["evaluations"][-1]["estimated_performance"]
    assert last["accuracy"]["realized"] is None
    assert last["accuracy"]["lower"] < last["accuracy"]["value"] < last["accuracy"]["upper"]


def test_backtest_without_opt_in_shows_the_estimate_but_never_alarms_on_it(
    tmp_path: Path, baseline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = backtest(tmp_path, baseline, False, capsys)
    assert not [a for a in document["alerts"] if a["condition"] == "PerformanceDegraded"]
    assert "estimated_performance" in document["evaluations"][-1]
