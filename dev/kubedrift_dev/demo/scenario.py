"""The demo's data: three worlds the model meets, one after the other.

Each :class:`World` is a covariate distribution (two independent unit-variance Gaussians around
``mean``) and a labelling rule ``label = 1[w . x > bias]``, with ``noise`` of the labels flipped.

- ``A``: the training world, x around (0, 0), label ``x1 + x2 > 0``;
- ``B``: covariate shift to (1.5, -1) and a new rule, ``x1 - x2 > 2.5`` (the old rule is right
  only about half of the time there);
- ``C``: a second shift, to (-1, 1.5), with the rule ``x2 > 1.5``.

Everything is seeded: the same seed gives the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FEATURES = ("x1", "x2")
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class World:
    name: str
    description: str
    mean: tuple[float, float]
    weights: tuple[float, float]
    bias: float
    noise: float = 0.02

    def sample(self, rows: int, seed: int) -> tuple[FloatArray, IntArray]:
        """``rows`` feature rows (shape ``[rows, 2]``) and their true labels."""
        rng = np.random.default_rng(seed)
        x = rng.normal(loc=self.mean, scale=1.0, size=(rows, len(FEATURES)))
        clean = (x @ np.asarray(self.weights) > self.bias).astype(np.int64)
        flip = rng.random(rows) < self.noise
        return x, np.where(flip, 1 - clean, clean)


WORLDS = {
    "A": World("A", "training distribution", (0.0, 0.0), (1.0, 1.0), 0.0),
    "B": World("B", "shifted x1, x2 and a new rule", (1.5, -1.0), (1.0, -1.0), 2.5),
    "C": World("C", "second shift, another rule", (-1.0, 1.5), (0.0, 1.0), 1.5),
}

#: Rows of the generated training set A.
TRAINING_ROWS = 4000
TRAINING_SEED = 7
