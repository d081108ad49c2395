"""Sample monitor, spec and Deployment shared by the operator's unit tests."""

from __future__ import annotations

import copy
from typing import Any

from kubedrift.api.spec import ModelMonitorSpec, parse_spec
from kubedrift.controller.injection import SidecarOptions
from kubedrift.controller.names import MonitorRef

MONITOR = MonitorRef(namespace="ml", name="fraud", uid="uid-1")
OPTIONS = SidecarOptions(image="kubedrift:test")

SPEC: dict[str, Any] = {
    "target": {"deployment": "fraud-model", "container": "model", "port": 8080},
    "baseline": {"configMapRef": {"name": "fraud-baseline"}},
    "window": {"samples": 500, "maxAge": "10m", "minSamples": 50},
    "performance": {"metric": "accuracy", "threshold": 0.8, "minLabeledSamples": 40},
    "retraining": {
        "triggers": ["PerformanceDegraded", "DriftDetected"],
        "cooldown": "1h",
        "template": {
            "metadata": {"labels": {"team": "risk"}},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "train",
                                "image": "trainer:1",
                                "env": [{"name": "KUBEDRIFT_REASON", "value": "stale"}],
                            }
                        ]
                    }
                },
            },
        },
    },
}


def make_spec(**changes: Any) -> ModelMonitorSpec:
    """SPEC with top-level sections replaced (``None`` removes one)."""
    body = copy.deepcopy(SPEC)
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return parse_spec(body)


def make_deployment(**pod_spec: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "model",
                "image": "model:1",
                "ports": [{"containerPort": 8080}],
                "env": [{"name": "MODEL_VERSION", "value": "1"}],
            }
        ]
    }
    spec.update(pod_spec)
    return {
        "metadata": {"name": "fraud-model", "namespace": "ml", "annotations": {}},
        "spec": {
            "selector": {"matchLabels": {"app": "fraud"}},
            "template": {"metadata": {"labels": {"app": "fraud"}}, "spec": spec},
        },
    }


def sample_baseline(seed: int = 1) -> Any:
    """A classification baseline: x ~ N(0, 1), the model predicts and the label is x > 0."""
    import numpy as np  # noqa: PLC0415

    from kubedrift.stats.baseline import build_baseline  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    x = rng.normal(size=2000)
    y = (x > 0).astype(np.int64)
    return build_baseline({"x": x, "pred": y, "label": y}, prediction="pred", label="label")


def sample_window(baseline: Any, *, shift: float, rows: int, seed: int, start: float) -> Any:
    """A window of ``rows`` requests with x shifted by ``shift``; the model still predicts
    x > 0 while the truth moved to x > shift, so accuracy falls as the shift grows."""
    import numpy as np  # noqa: PLC0415

    from kubedrift.stats.settings import WindowSettings  # noqa: PLC0415
    from kubedrift.stats.window import Window  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    window = Window(baseline, WindowSettings(samples=5000, min_samples=50), seed=seed, start=start)
    x = rng.normal(loc=shift, size=rows)
    predictions = (x > 0).astype(np.int64)
    window.update({"x": x}, predictions, now=start + 10)
    window.add_labeled(predictions, (x > shift).astype(np.int64), {"x": x}, now=start + 20)
    return window
