"""Fixtures of the sidecar reliability suite (``make chaos``): a baseline file for the real sidecar
processes. The process driver and the model server are the sidecar tests' own helpers
(``tests/unit/sidecar``), imported by name from there."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "sidecar"))

from kubedrift.stats.baseline import build_baseline

FEATURES = ("x-0", "x-1", "x-2")


@pytest.fixture(scope="session")
def baseline_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three normal features and a 0/1 prediction (the model servers' columns)."""
    rng = np.random.default_rng(11)
    values = rng.normal(size=(2000, 3))
    predictions = (values[:, 0] > 0).astype(np.int64)
    columns = {name: values[:, i] for i, name in enumerate(FEATURES)}
    baseline = build_baseline(
        {**columns, "prediction": predictions, "label": predictions},
        prediction="prediction",
        label="label",
    )
    path = tmp_path_factory.mktemp("reliability") / "baseline.json"
    path.write_text(baseline.to_json())
    return path
