"""The baseline the sidecar tests and the reliability tests run the sidecar with."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kubedrift.stats.baseline import build_baseline

#: Every feature the test payloads carry; the baseline profiles them all.
FEATURES = ("x-0", "x-1", "x-2")


def write_baseline(directory: Path, *, seed: int) -> Path:
    """Three standard normal features and a 0/1 prediction (``x-0 > 0``) that is also the label,
    profiled from 2000 seeded rows and written to ``directory/baseline.json``."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(2000, len(FEATURES)))
    predictions = (values[:, 0] > 0).astype(np.int64)
    columns = {name: values[:, i] for i, name in enumerate(FEATURES)}
    baseline = build_baseline(
        {**columns, "prediction": predictions, "label": predictions},
        prediction="prediction",
        label="label",
    )
    path = directory / "baseline.json"
    path.write_text(baseline.to_json())
    return path
