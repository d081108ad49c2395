"""`kubedrift baseline build` and `kubedrift backtest` on a table with a 300-wide embedding
(columns ``text-0 .. text-299``): the build finds the block and stays small, the backtest judges
it through its projection and reports it under ``embeddings``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from kubedrift.cli import main
from kubedrift.stats.baseline import Baseline
from support.backtest_cli import backtest, monitor_file

WIDTH = 300


def write(path: Path, n: int, seed: int, *, shift_after: int | None = None) -> Path:
    """Rows of ``age`` and a 300-wide embedding (three factors plus noise); from row
    ``shift_after`` the embedding moves by 2 along a direction the factors do not span."""
    factors = np.random.default_rng(7).normal(size=(WIDTH, 3)) * 2
    basis, _ = np.linalg.qr(np.column_stack([factors, np.ones(WIDTH)]))
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, 3)) @ factors.T + 0.3 * rng.normal(size=(n, WIDTH))
    if shift_after is not None:
        vectors[shift_after:] += 2.0 * basis[:, 3]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["age", *(f"text-{j}" for j in range(WIDTH))])
        for i in range(n):
            writer.writerow([f"{rng.normal(40, 10):.3f}", *(f"{v:.5f}" for v in vectors[i])])
    return path


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path]:
    baseline = tmp_path / "baseline.json"
    data = str(write(tmp_path / "train.csv", 2000, seed=1))
    assert main(["baseline", "build", "--data", data, "-o", str(baseline)]) == 0
    return monitor_file(tmp_path), baseline


def test_build_finds_the_block_above_the_width_and_stays_small(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(write(tmp_path / "train.csv", 2000, seed=1))
    block, plain = tmp_path / "block.json", tmp_path / "plain.json"
    assert main(["baseline", "build", "--data", data, "-o", str(block)]) == 0
    assert "embedding text (300 wide)" in capsys.readouterr().err
    baseline = Baseline.from_json(block.read_text())
    assert baseline.feature_names == ("age",)
    assert [(b.name, b.width, len(b.profiles)) for b in baseline.embeddings] == [("text", 300, 10)]
    assert block.stat().st_size < 100_000
    # 300 columns are a block only above the width: at 300 they are 300 more features
    command = ["baseline", "build", "--data", data, "--embedding-width", "300"]
    assert main([*command, "-o", str(plain)]) == 0
    assert len(Baseline.from_json(plain.read_text()).feature_names) == 301
    named = tmp_path / "named.json"
    assert main([*command, "--embedding", "text", "-o", str(named)]) == 0
    assert [b.name for b in Baseline.from_json(named.read_text()).embeddings] == ["text"]


def test_backtest_reports_the_block_and_alarms_on_its_shift(
    built: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monitor, baseline = built
    stream = write(tmp_path / "stream.csv", 1500, seed=2, shift_after=600)
    capsys.readouterr()
    assert backtest(monitor, baseline, stream, "--format", "json", "--rate", "1") == 0
    document = json.loads(capsys.readouterr().out)
    alerts = [(a["row"], a["type"], a["detail"]) for a in document["alerts"]]
    assert len(alerts) == 1
    row, kind, detail = alerts[0]
    assert kind == "DriftDetected" and detail.startswith("EmbeddingDrift")
    assert row == 630  # the first round after the shift (30 rows of it)
    quiet = [e for e in document["evaluations"] if e["row"] <= 600 and e["enough_data"]]
    assert quiet and not any(e["embeddings"]["text"]["drifted"] for e in quiet)
    last = document["evaluations"][-1]["embeddings"]["text"]
    assert last["drifted"] is True
    assert last["signals"]["reconstruction-error"]["drifted"] is True
    assert set(last["signals"]) == {
        *(f"pc{i}" for i in range(1, 9)),
        "norm",
        "reconstruction-error",
    }
