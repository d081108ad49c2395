"""`kubedrift backtest`: replays a stream with a monitor's settings and reports what it would do."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from kubedrift.cli import main
from support.backtest_cli import backtest as run_backtest
from support.backtest_cli import monitor_file

Writer = Callable[..., Path]

SECTIONS = """\
  drift: {driftShare: 0.3}
  performance: {metric: accuracy, threshold: 0.7, minLabeledSamples: 200}
  retraining:
    triggers: [DriftDetected, PerformanceDegraded]
    cooldown: 30m
    template:
      spec:
        template:
          spec:
            containers: [{name: train, image: trainer:1}]
            restartPolicy: Never
"""


@pytest.fixture
def setup(built_baseline: Callable[[int], Path], tmp_path: Path) -> tuple[Path, Path]:
    return monitor_file(tmp_path, SECTIONS), built_baseline(20)


def backtest(setup: tuple[Path, Path], data: Path, *extra: str) -> int:
    return run_backtest(*setup, data, *extra)


def test_stable_stream_is_judged_every_interval_and_alerts_nothing(
    setup: tuple[Path, Path], rows: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    """One row per second and the default 30 s interval: a round every 30 rows, as the operator
    would evaluate. Below ``minSamples`` (100) a round is ``nodata``, never ``ok``."""
    capsys.readouterr()
    assert backtest(setup, rows("stream.csv", 2000, seed=24), "--format", "json") == 0
    document = json.loads(capsys.readouterr().out)
    evaluations = document["evaluations"]
    assert [e["row"] for e in evaluations[:4]] == [30, 60, 90, 120]
    assert len(evaluations) == 67  # rounds at 30 s, ..., 1980 s and the one after the data
    assert [e["verdict"] for e in evaluations[:4]] == ["nodata", "nodata", "nodata", "ok"]
    assert {e["verdict"] for e in evaluations[3:]} == {"ok"}
    assert (document["alerts"], document["retrainings"]) == ([], [])
    assert document["engine"]["alternatives"] == evaluations[0]["engine"]["alternatives"]


def test_drift_then_degradation_alerts_once_each_and_cooldown_limits_retraining(
    setup: tuple[Path, Path], rows: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    # Rows 0-999 like training; from row 1000 the labels are coin flips (accuracy ~0.5) and
    # from the start the feature a is shifted by 1 sigma.
    data = rows("stream.csv", 3000, seed=22, shift=1.0, flip_after=1000)
    assert backtest(setup, data, "--format", "json", "--rate", "1") == 0
    document = json.loads(capsys.readouterr().out)
    kinds = [(a["row"], a["type"]) for a in document["alerts"]]
    # The shift is certain after the first round that may judge (100 rows in the window).
    assert kinds[0] == (120, "DriftDetected")
    # One shift, one alarm: the drift alarm holds (hysteresis), nothing repeats it.
    assert [k for _, k in kinds].count("DriftDetected") == 1
    # The coin-flip labels (accuracy about 0.5 against the threshold 0.7): one performance
    # alarm, once the window holds enough labels of the new regime; the windowed bound, at the
    # contract's confidence, crosses the threshold in the same round as the error-rate detector
    # and names the reason.
    performance = [a for a in document["alerts"] if a["condition"] == "PerformanceDegraded"]
    assert [(a["row"], a["type"]) for a in performance] == [(1200, "PerformanceDegraded")]
    assert performance[0]["detail"].startswith("ThresholdCrossed: accuracy 0.")
    # One row per second: the degradation is less than 30 minutes after the drift's retraining.
    assert document["retrainings"] == [{"row": 120, "reason": "DriftDetected"}]
    feature = document["evaluations"][3]["features"][0]
    assert (feature["name"], feature["drifted"]) == ("a", True)
    assert feature["evidence"] >= document["engine"]["threshold"] or feature["effect"] > 0.05


def test_time_column_drives_the_rounds_and_window_age(
    setup: tuple[Path, Path], rows: Writer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = rows("stream.csv", 400, seed=23).read_text().splitlines()
    # 400 rows, one every 20 s: a round every 30 s sees 1 or 2 new rows; windows close by age
    # (1 h = 180 rows), not by count.
    timed = [source[0] + ",t"] + [f"{line},{i * 20}" for i, line in enumerate(source[1:])]
    data = tmp_path / "timed.csv"
    data.write_text("\n".join(timed) + "\n")
    capsys.readouterr()
    assert backtest(setup, data, "--time-column", "t", "--format", "json") == 0
    document = json.loads(capsys.readouterr().out)
    samples = {e["time"]: e["samples"] for e in document["evaluations"]}
    # Before the first rotation the window holds every row so far (rows at 0, 20, ..., t).
    assert samples[3570.0] == 179
    # After it, the round reads the new window merged with the completed one until the new
    # one holds minSamples (100) rows on its own.
    assert samples[3630.0] == 180 + 2
    # A row that arrives at a round's time comes after that round: at 5580 s the new window
    # holds the 99 rows of 3600-5560 s.
    assert samples[5580.0] == 180 + 99
    assert samples[5610.0] == 101  # 3600-5600 s, alone
    assert document["evaluations"][0]["verdict"] == "nodata"
    assert document["evaluations"][0]["enough_data"] is False


def test_table_output_plot_and_progress(
    setup: tuple[Path, Path], rows: Writer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "out.png"
    data = rows("stream.csv", 1000, seed=26)
    capsys.readouterr()
    assert backtest(setup, data, "--plot", str(plot), "--progress", "always") == 0
    captured = capsys.readouterr()
    assert "34 evaluations, 0 alerts, 0 would-be retrainings" in captured.out
    assert "100% 1000/1000 rows" in captured.err
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("monitor", "message"),
    [
        ("kind: Deployment\nspec: {}\n", "kind is 'Deployment', expected ModelMonitor"),
        (
            "spec: {target: {deployment: x, port: 0}, baseline: {configMapRef: {name: b}}}\n",
            "spec.target.port",
        ),
        (": : :\n", "not valid YAML"),
    ],
)
def test_bad_monitor_is_reported_with_the_field(  # noqa: PLR0917 - pytest fixtures
    setup: tuple[Path, Path],
    rows: Writer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monitor: str,
    message: str,
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(monitor)
    _, baseline = setup
    code = main(
        [
            "backtest",
            "--monitor",
            str(path),
            "--baseline",
            str(baseline),
            "--data",
            str(rows("s.csv", 200, seed=25)),
        ]
    )
    assert code == 2
    assert message in capsys.readouterr().err
