"""The synthetic embedding the embedding benches share (a helper, no ``main``).

32 latent factors with standard deviations 3 to 0.5 through a random basis (rows of norm about
1), plus isotropic noise of 0.3 per coordinate; ``low`` is a unit direction orthogonal to every
factor, along which only the noise varies. The embedding block benches (cost and detection,
false alarms) and the multivariate bench (the same inputs as plain columns) draw from it.
"""

from __future__ import annotations

import numpy as np

FACTORS = 32
NOISE = 0.3


class Source:
    """The synthetic embedding of one width: a basis, and a direction outside its span."""

    def __init__(self, width: int) -> None:
        rng = np.random.default_rng(0)
        self.basis = rng.normal(size=(FACTORS, width)) / np.sqrt(width)
        self.spread = np.linspace(3, 0.5, FACTORS)
        q, _ = np.linalg.qr(np.vstack([self.basis, rng.normal(size=(1, width))]).T)
        self.low = q[:, FACTORS]  # orthogonal to every row of the basis

    @property
    def width(self) -> int:
        return int(self.basis.shape[1])

    def draw(self, rng: np.random.Generator, n: int, shift: np.ndarray | float = 0.0) -> np.ndarray:
        """``n x width`` rows, moved by ``shift`` (a vector of the width, or a number)."""
        latent = rng.normal(size=(n, FACTORS)) * self.spread
        rows: np.ndarray = latent @ self.basis + NOISE * rng.normal(size=(n, self.width))
        return rows + shift

    def factor(self, index: int) -> np.ndarray:
        """The output-space direction of latent factor ``index``: adding ``delta`` times it is a
        shift of that factor by ``delta``."""
        direction: np.ndarray = self.basis[index]
        return direction
