"""The demo model: binary logistic regression trained with numpy (full-batch gradient descent on
standardised features), saved as a small JSON document a ConfigMap can hold.

Use :func:`train` on a feature matrix and labels; :meth:`LogisticModel.predict` gives 0/1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

STEPS = 500
LEARNING_RATE = 0.5
L2 = 1e-3


@dataclass(frozen=True)
class LogisticModel:
    version: str
    weights: tuple[float, ...]
    bias: float

    def scores(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """P(label = 1) for each row of ``x``."""
        z = np.asarray(x, dtype=np.float64) @ np.asarray(self.weights) + self.bias
        scores: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))
        return scores

    def predict(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        return (self.scores(x) > 0.5).astype(np.int64)

    def accuracy(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.int64]) -> float:
        return float(np.mean(self.predict(x) == y))

    def to_json(self) -> str:
        return json.dumps(
            {"version": self.version, "weights": list(self.weights), "bias": self.bias}
        )

    @classmethod
    def from_json(cls, text: str) -> LogisticModel:
        document = json.loads(text)
        return cls(
            str(document["version"]),
            tuple(float(w) for w in document["weights"]),
            float(document["bias"]),
        )


def train(x: npt.NDArray[np.float64], y: npt.NDArray[np.int64], version: str) -> LogisticModel:
    """Fit on rows ``x`` (shape ``[n, d]``) and 0/1 labels ``y``; deterministic."""
    x = np.asarray(x, dtype=np.float64)
    target = np.asarray(y, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    z = (x - mean) / scale
    w = np.zeros(z.shape[1])
    b = 0.0
    for _ in range(STEPS):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w + b, -50.0, 50.0)))
        error = p - target
        w -= LEARNING_RATE * (z.T @ error / len(target) + L2 * w)
        b -= LEARNING_RATE * float(error.mean())
    # Fold the standardisation into the weights so serving needs no scaler.
    weights = w / scale
    return LogisticModel(version, tuple(float(v) for v in weights), float(b - weights @ mean))
