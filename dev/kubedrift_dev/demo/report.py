"""What the demo shows: the live table (one :class:`~.loop.Row` per line, printed as it
happens), the summary with detection delay and accuracy before/during/after, and the PNG plot
(accuracy and drift share over time, with markers for alerts, retraining starts and
rollouts) when matplotlib is installed (the ``plot`` extra).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from kubedrift_dev.demo.outcome import Outcome, Row

COLUMNS = (
    ("step", 4),
    ("action", 36),
    ("data input", 36),
    ("distribution match", 34),
    ("model accuracy", 22),
    ("next step", 0),
)


class TablePrinter:
    """Prints the header once and then each row as it comes."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self._header = False

    def __call__(self, row: Row) -> None:
        if not self._header:
            self.write(self._line(tuple(name for name, _ in COLUMNS)))
            self.write(self._line(tuple("-" * max(width, len(name)) for name, width in COLUMNS)))
            self._header = True
        cells = (row.step, row.action, row.data, row.distribution, row.accuracy, row.next)
        self.write(self._line(cells))

    @staticmethod
    def _line(cells: tuple[str, ...]) -> str:
        parts = [cell.ljust(width) for cell, (_, width) in zip(cells, COLUMNS, strict=True)]
        return " ".join(parts).rstrip()


def _fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def summary(outcome: Outcome, threshold: float) -> list[str]:
    """Lines of the end-of-run summary."""
    lines = [f"accuracy on A (before any shift): {_fmt(outcome.accuracy('A'))}"]
    for world in (w for w in outcome.shifts if w != "A"):
        found = outcome.detections.get(world, {})
        delays = ", ".join(f"{name} after {rows} rows" for name, rows in found.items())
        lines.append(f"shift to {world}: detected {delays or 'never'}")
        lines.append(
            f"  accuracy during (old model): {_fmt(outcome.accuracy(world, after_rollout=False))}"
            f"; after the rollout: {_fmt(outcome.accuracy(world, after_rollout=True))}"
            f" (threshold {threshold})"
        )
    jobs = ", ".join(f"{name} -> model v{version}" for name, (_, version) in outcome.jobs.items())
    lines.append(f"retraining Jobs: {jobs or 'none'}")
    status = outcome.final_status
    lines.append(
        f"final phase: {status.get('phase')}, model version "
        f"{(status.get('retraining') or {}).get('modelVersion', '1')}"
    )
    return lines


def plot(outcome: Outcome, path: Path, threshold: float) -> bool:
    """Write the PNG; False when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return False
    figure, axis = plt.subplots(figsize=(10, 4.5), dpi=110)
    x = [p.seconds for p in outcome.points]
    shades = {"A": "#eef5ee", "B": "#fbeeee", "C": "#eeeefb"}
    starts = sorted(outcome.shift_seconds.items(), key=lambda item: item[1])
    for (world, start), end in zip(starts, [s for _, s in starts[1:]] + [x[-1] + 3], strict=True):
        axis.axvspan(start, end, color=shades.get(world, "#f4f4f4"), zorder=0)
        axis.annotate(f"traffic {world}", (start + 1, 1.04), fontsize=9)
    axis.plot(
        x,
        [p.accuracy for p in outcome.points],
        "o-",
        color="tab:blue",
        label="model accuracy on each step's traffic",
    )
    axis.plot(
        x,
        [math.nan if p.drift_share is None else p.drift_share for p in outcome.points],
        "s--",
        color="tab:orange",
        label="drift share (operator)",
    )
    axis.axhline(
        threshold,
        color="tab:blue",
        linestyle=":",
        linewidth=1,
        label=f"accuracy threshold {threshold}",
    )
    styles = {
        "alert": ("tab:red", "alert (DriftDetected, PerformanceDegraded)", (0, (2, 2)), 2.5),
        "retraining": ("tab:purple", "retraining Job starts", "-", 1.2),
        "rollout": ("tab:green", "retrained model rolled out", "-", 1.5),
    }
    seen: set[str] = set()
    for marker in outcome.markers:
        color, name, style, width = styles[marker.kind]
        axis.axvline(
            marker.seconds,
            color=color,
            linestyle=style,
            linewidth=width,
            label=None if name in seen else name,
        )
        seen.add(name)
    axis.set_ylim(-0.02, 1.1)
    axis.set_xlabel("seconds since the first step")
    axis.set_title("kubedrift demo: train on A, serve B, detect, retrain, roll out", pad=18)
    axis.legend(loc="lower left", fontsize=8, framealpha=0.95)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return True
