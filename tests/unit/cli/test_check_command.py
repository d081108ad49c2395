"""`kubedrift check`: exit codes 0/1/2, the JSON document, clear messages on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kubedrift.cli import main

Writer = Callable[..., Path]


@pytest.fixture
def baseline(built_baseline: Callable[[int], Path]) -> Path:
    return built_baseline(10)


def check(baseline: Path, data: Path, *extra: str) -> int:
    return main(["check", "--baseline", str(baseline), "--data", str(data), *extra])


def test_same_distribution_exits_zero(
    baseline: Path, rows: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(baseline, rows("current.csv", 800, seed=11)) == 0
    assert "verdict: ok" in capsys.readouterr().out


def test_drift_exits_one_with_the_documented_json_shape(
    baseline: Path, rows: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert check(baseline, rows("current.csv", 800, seed=12, shift=0.8), "--format", "json") == 1
    document = json.loads(capsys.readouterr().out)
    assert list(document) == ["drift", "share", "features", "prediction", "performance"]
    assert document["drift"] is True
    assert document["share"] == pytest.approx(1 / 3)
    a = document["features"][0]
    assert list(a) == ["name", "type", "method", "statistic", "p_value", "threshold", "drifted"]
    assert (a["name"], a["type"], a["method"], a["drifted"]) == ("a", "numeric", "ks", True)
    assert document["prediction"]["name"] == "pred" and document["prediction"]["drifted"]
    assert list(document["performance"]) == [
        "metric",
        "value",
        "lower_bound",
        "threshold",
        "samples",
        "degraded",
    ]
    assert document["performance"]["samples"] == 800


def test_degraded_performance_alone_exits_one(
    baseline: Path, rows: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    data = rows("current.csv", 800, seed=13, flip_after=0)
    assert check(baseline, data, "--format", "json") == 1
    document = json.loads(capsys.readouterr().out)
    assert document["drift"] is False
    assert document["performance"]["degraded"] is True


def test_options_reach_the_evaluation(
    baseline: Path, rows: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    data = rows("current.csv", 800, seed=14)
    check(baseline, data, "--method", "psi", "--format", "json", "--performance-threshold", "0.5")
    document = json.loads(capsys.readouterr().out)
    assert {f["method"] for f in document["features"]} == {"psi"}
    assert {f["p_value"] for f in document["features"]} == {None}
    assert document["performance"]["threshold"] == 0.5


def test_missing_columns_are_named(
    baseline: Path, rows: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    data = rows("current.csv", 300, seed=15, header=("a", "color", "pred", "y"))
    assert check(baseline, data) == 2
    assert "missing column(s) 'b'; it has a, color, pred, y" in capsys.readouterr().err


def test_text_in_a_numeric_column_is_a_type_error(
    baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "current.csv"
    data.write_text("a,b,color,pred,y\n" + "oops,1.0,red,1,1\n" * 150)
    assert check(baseline, data) == 2
    assert "column 'a' must be numeric (it is numeric in the baseline) but holds 'oops'" in (
        capsys.readouterr().err
    )


def test_empty_file_and_too_few_rows(
    baseline: Path, rows: Writer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert check(baseline, empty) == 2
    assert "the file is empty" in capsys.readouterr().err
    assert check(baseline, rows("few.csv", 20, seed=16)) == 2
    assert "20 rows, fewer than --min-samples 100" in capsys.readouterr().err


def test_missing_or_broken_baseline(
    rows: Writer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = rows("current.csv", 200, seed=17)
    assert check(tmp_path / "nope.json", data) == 2
    assert "cannot read the baseline" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert check(broken, data) == 2
    assert "baseline is not valid JSON" in capsys.readouterr().err


def test_parquet_input_gives_the_same_verdict(
    baseline: Path, rows: Writer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow.csv  # noqa: PLC0415 - the test extra installs pyarrow
    import pyarrow.parquet as pq  # noqa: PLC0415

    data = rows("current.csv", 800, seed=18, shift=0.8)
    parquet = tmp_path / "current.parquet"
    pq.write_table(pyarrow.csv.read_csv(data), parquet)
    capsys.readouterr()
    check(baseline, data, "--format", "json")
    from_csv = json.loads(capsys.readouterr().out)
    check(baseline, parquet, "--format", "json")
    assert json.loads(capsys.readouterr().out) == from_csv


def test_check_commands_import_no_numpy_at_start_up() -> None:
    code = (
        "import sys, argparse\n"
        "from kubedrift.commands import baseline_command, backtest_command, check_command\n"
        "for module in (baseline_command, backtest_command, check_command):\n"
        "    module.configure(argparse.ArgumentParser())\n"
        "print(sorted(m for m in ('numpy', 'scipy', 'yaml', 'matplotlib') if m in sys.modules))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert output.strip() == "[]"
