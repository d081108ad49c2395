"""Small generated CSV files for the CLI tests, and a baseline built from one with the CLI."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from kubedrift.cli import main

Writer = Callable[..., Path]


def write_rows(
    path: Path,
    n: int,
    seed: int,
    shift: float = 0.0,
    *,
    flip_after: int | None = None,
    header: tuple[str, ...] = ("a", "b", "color", "pred", "y"),
) -> Path:
    """Rows of a toy classifier: ``pred = a > 0``, ``y`` agrees with it about 75 % of the time
    (after ``flip_after`` rows the labels become coin flips: the model degrades)."""
    rng = np.random.default_rng(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i in range(n):
            a = rng.normal(shift)
            noise = rng.normal()
            y = int(noise > 0) if flip_after is not None and i >= flip_after else int(a + noise > 0)
            row = [
                f"{a:.6f}",
                f"{rng.normal():.6f}",
                rng.choice(["red", "green", "blue"]),
                int(a > 0),
                y,
            ]
            writer.writerow(row[: len(header)])
    return path


@pytest.fixture
def rows(tmp_path: Path) -> Writer:
    def make(name: str, n: int, seed: int, shift: float = 0.0, **kwargs: object) -> Path:
        return write_rows(tmp_path / name, n, seed, shift, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def built_baseline(rows: Writer, tmp_path: Path) -> Callable[[int], Path]:
    """``built_baseline(seed)``: ``kubedrift baseline build`` over 3000 training rows drawn with
    ``seed`` (prediction ``pred``, label ``y``), written to ``baseline.json``."""

    def build(seed: int) -> Path:
        output = tmp_path / "baseline.json"
        train = rows("train.csv", 3000, seed=seed)
        command = ["baseline", "build", "--data", str(train), "--prediction", "pred"]
        assert main([*command, "--label", "y", "-o", str(output)]) == 0
        return output

    return build
