"""`kubedrift backtest`: replays a stream with a monitor's settings and reports what it would do."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from kubedrift.cli import main

Writer = Callable[..., Path]

MONITOR = """\
apiVersion: kubedrift.io/v1alpha1
kind: ModelMonitor
metadata: {name: toy}
spec:
  target: {deployment: toy, port: 8080}
  baseline: {configMapRef: {name: toy-baseline}}
  window: {samples: 500, minSamples: 100, maxAge: 1h}
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
def setup(rows: Writer, tmp_path: Path) -> tuple[Path, Path]:
    baseline = tmp_path / "baseline.json"
    assert (
        main(
            [
                "baseline",
                "build",
                "--data",
                str(rows("train.csv", 3000, seed=20)),
                "--prediction",
                "pred",
                "--label",
                "y",
                "-o",
                str(baseline),
            ]
        )
        == 0
    )
    monitor = tmp_path / "monitor.yaml"
    monitor.write_text(MONITOR)
    return monitor, baseline


def backtest(setup: tuple[Path, Path], data: Path, *extra: str) -> int:
    monitor, baseline = setup
    return main(
        [
            "backtest",
            "--monitor",
            str(monitor),
            "--baseline",
            str(baseline),
            "--data",
            str(data),
            *extra,
        ]
    )


def test_stable_stream_evaluates_every_window_and_alerts_nothing(
    setup: tuple[Path, Path], rows: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each window is one family of tests at the 5 % level, so about one window in twenty of a
    stable stream raises a false alarm; this seeded stream has none."""
    capsys.readouterr()
    assert backtest(setup, rows("stream.csv", 2000, seed=24), "--format", "json") == 0
    document = json.loads(capsys.readouterr().out)
    assert [e["row"] for e in document["evaluations"]] == [500, 1000, 1500, 2000]
    assert {e["verdict"] for e in document["evaluations"]} == {"ok"}
    assert (document["alerts"], document["retrainings"]) == ([], [])


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
    assert kinds[0] == (500, "DriftDetected")
    assert (1500, "PerformanceDegraded") in kinds
    assert [k for _, k in kinds].count("DriftDetected") == 1
    error_shift = [row for row, kind in kinds if kind == "ErrorRateShift"]
    assert len(error_shift) == 1 and 1000 < error_shift[0] < 1500
    # One row per second: the degradation at row 1500 is 1000 s after the retraining at row 500,
    # inside the 30-minute cooldown.
    assert document["retrainings"] == [{"row": 500, "reason": "DriftDetected"}]
    assert document["evaluations"][0]["features"][0]["drifted"] is True


def test_time_column_drives_window_age(
    setup: tuple[Path, Path], rows: Writer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = rows("stream.csv", 400, seed=23).read_text().splitlines()
    # 400 rows, one every 20 s: windows close by age (1 h = 180 rows), not by count.
    timed = [source[0] + ",t"] + [f"{line},{i * 20}" for i, line in enumerate(source[1:])]
    data = tmp_path / "timed.csv"
    data.write_text("\n".join(timed) + "\n")
    capsys.readouterr()
    assert backtest(setup, data, "--time-column", "t", "--format", "json") == 0
    document = json.loads(capsys.readouterr().out)
    assert [(e["row"], e["samples"]) for e in document["evaluations"]] == [
        (180, 180),
        (360, 180),
        (400, 40),
    ]
    assert document["evaluations"][-1]["enough_data"] is False


def test_table_output_plot_and_progress(
    setup: tuple[Path, Path], rows: Writer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "out.png"
    data = rows("stream.csv", 1000, seed=26)
    capsys.readouterr()
    assert backtest(setup, data, "--plot", str(plot), "--progress", "always") == 0
    captured = capsys.readouterr()
    assert "2 evaluations, 0 alerts, 0 would-be retrainings" in captured.out
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
