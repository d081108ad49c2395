"""`kubedrift baseline build` and `kubedrift baseline configmap` run end to end on files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from kubedrift.cli import main
from kubedrift.stats.baseline import Baseline

Writer = Callable[..., Path]


def test_build_writes_a_baseline_with_the_requested_columns(
    rows: Writer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = rows("train.csv", 600, seed=1)
    output = tmp_path / "baseline.json"
    code = main(
        [
            "baseline",
            "build",
            "--data",
            str(train),
            "--features",
            "a,color",
            "--prediction",
            "pred",
            "--label",
            "y",
            "-o",
            str(output),
        ]
    )
    assert code == 0
    baseline = Baseline.from_json(output.read_text())
    assert baseline.feature_names == ("a", "color")
    assert [p.type for p in baseline.features] == ["numeric", "categorical"]
    assert baseline.prediction is not None and baseline.prediction.name == "pred"
    assert (baseline.task, baseline.classes, baseline.rows) == ("classification", ("0", "1"), 600)
    assert "wrote" in capsys.readouterr().err


def test_build_forces_categorical_columns(rows: Writer, tmp_path: Path) -> None:
    output = tmp_path / "baseline.json"
    assert (
        main(
            [
                "baseline",
                "build",
                "--data",
                str(rows("t.csv", 200, seed=2)),
                "--categorical",
                "a",
                "-o",
                str(output),
            ]
        )
        == 0
    )
    assert Baseline.from_json(output.read_text()).feature("a").type == "categorical"


def test_build_fits_the_multivariate_signal_unless_told_not_to(
    rows: Writer, tmp_path: Path
) -> None:
    data = str(rows("t.csv", 300, seed=3))
    fitted, plain = tmp_path / "fitted.json", tmp_path / "plain.json"
    assert main(["baseline", "build", "--data", data, "-o", str(fitted)]) == 0
    assert main(["baseline", "build", "--data", data, "--no-multivariate", "-o", str(plain)]) == 0
    fit = Baseline.from_json(fitted.read_text()).multivariate
    assert fit is not None and fit.features == ("a", "b")
    assert Baseline.from_json(plain.read_text()).multivariate is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("a,b\n", "no data rows after the header"),
        ("a,b\n1,2\n3\n", "row 3 has 1 fields, the header has 2"),
    ],
)
def test_build_rejects_bad_files_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    data = tmp_path / "bad.csv"
    data.write_text(content)
    assert main(["baseline", "build", "--data", str(data), "-o", str(tmp_path / "b.json")]) == 2
    assert message in capsys.readouterr().err


def test_build_names_a_missing_column(
    rows: Writer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "baseline",
            "build",
            "--data",
            str(rows("t.csv", 50, seed=3)),
            "--label",
            "target",
            "-o",
            str(tmp_path / "b.json"),
        ]
    )
    assert code == 2
    assert "column 'target' is not in the data" in capsys.readouterr().err


def test_configmap_wraps_the_baseline_json(
    rows: Writer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "baseline.json"
    main(["baseline", "build", "--data", str(rows("t.csv", 300, seed=4)), "-o", str(output)])
    capsys.readouterr()
    assert (
        main(
            [
                "baseline",
                "configmap",
                "--baseline",
                str(output),
                "--name",
                "fraud-baseline",
                "--namespace",
                "ml",
            ]
        )
        == 0
    )
    manifest = yaml.safe_load(capsys.readouterr().out)
    assert manifest["kind"] == "ConfigMap"
    assert manifest["metadata"] == {"name": "fraud-baseline", "namespace": "ml"}
    assert json.loads(manifest["data"]["baseline.json"]) == json.loads(output.read_text())


def test_configmap_refuses_something_that_is_not_a_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "b.json"
    bogus.write_text('{"hello": 1}')
    assert main(["baseline", "configmap", "--baseline", str(bogus), "--name", "x"]) == 2
    assert "not a kubedrift baseline" in capsys.readouterr().err
