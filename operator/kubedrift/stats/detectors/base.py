"""The shape every sequential drift detector shares (the one river users know).

``update(x)`` feeds one value and returns the detector, ``drift_detected`` says whether that value
completed a detection, and the next ``update`` after a detection starts again from a clean state.
Hyper-parameters are stored under the names of the ``__init__`` arguments, so :meth:`clone` can
rebuild a detector with some of them changed (which is how ``calibration`` tunes one).
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Iterable
from typing import Any, Self


class DriftDetector(abc.ABC):
    """Base class: subclasses implement ``_step`` (one value -> drift?) and ``_reset``."""

    def __init__(self) -> None:
        self._drift_detected = False

    @property
    def drift_detected(self) -> bool:
        """True right after the update that found a change; cleared by the next update."""
        return self._drift_detected

    def update(self, x: float) -> Self:
        if self._drift_detected:
            self._reset()
        self._drift_detected = self._step(float(x))
        return self

    def params(self) -> dict[str, Any]:
        """The hyper-parameters, by their ``__init__`` names."""
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    def clone(self, **changes: Any) -> Self:
        """A fresh detector with the same hyper-parameters except ``changes``."""
        return type(self)(**{**self.params(), **changes})

    @abc.abstractmethod
    def _step(self, x: float) -> bool: ...

    @abc.abstractmethod
    def _reset(self) -> None: ...


def detections(detector: DriftDetector, values: Iterable[float]) -> list[int]:
    """Indices (0-based) of the values at which ``detector`` signalled drift."""
    found = []
    for index, value in enumerate(values):
        if detector.update(value).drift_detected:
            found.append(index)
    return found
