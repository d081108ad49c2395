"""``kubedrift backtest``: replay a data stream through a ModelMonitor's settings, offline.

    kubedrift backtest --monitor monitor.yaml --baseline baseline.json --data stream.csv \\
        [--format table|json] [--plot out.png]

Rows are replayed in file order, at the times of ``--time-column`` or ``--rate`` rows per
second, through the operator's schedule (``kubedrift.commands.replay``): the sidecar's windows
(rotated by ``window.samples`` rows or ``window.maxAge``) and, every ``evaluation.interval``, the
window evaluation and one step of the same decision engine the operator runs. The label column,
when present, is fed back as labels for the same rows. Alerts are the engine's conditions turning
True (``DriftDetected``, ``PerformanceDegraded`` or, when the error rate raised it,
``ErrorRateShift``, or when the error rate estimated without labels raised it,
``EstimatedPerformanceDegraded``, and ``DataQualityDegraded``); a would-be retraining is an
alert whose condition is among ``retraining.triggers``, at least ``retraining.cooldown`` after
the previous one. The table lists the rounds at which the verdict or a condition changed; the
JSON lists every round, with what decided it (``engine``: the threshold, each active signal's
statistic and effect size; ``performance.decision_bound``). With ``spec.segments`` (and a
baseline built with ``--segment``), each round adds ``segments`` (each segment's verdict,
evidence and metric), and segment alarms turning on are listed apart in ``segment_alerts``, so
``alerts`` keeps the monitor's conditions only (docs/statistics.md, Segments).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubedrift.commands.replay import Replay

PROGRESS_MIN_ROWS = 20_000


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--monitor", type=Path, required=True, help="ModelMonitor YAML")
    parser.add_argument("--baseline", type=Path, required=True, help="baseline.json")
    parser.add_argument("--data", type=Path, required=True, help="stream (CSV or Parquet)")
    parser.add_argument("--time-column", help="column with each row's time in seconds")
    parser.add_argument(
        "--rate",
        type=float,
        default=1.0,
        help="rows per second when there is no --time-column (default 1)",
    )
    parser.add_argument("--batch", type=int, default=500, help="rows per update batch")
    parser.add_argument(
        "--probabilities",
        metavar="COLUMNS",
        help="comma-separated columns with the model's class probabilities (default: the "
        "columns the baseline's calibration maps were fitted on, when the data has them)",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--plot", type=Path, help="write a PNG of share and metric over rows")
    parser.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress bar on stderr (auto: on a terminal for long inputs)",
    )


def run(args: argparse.Namespace) -> int:
    from kubedrift.commands.replay import load_monitor, replay  # noqa: PLC0415 - lazy
    from kubedrift.commands.tabular_files import (  # noqa: PLC0415
        InputError,
        baseline_inputs,
        load_baseline,
        read_table,
        require_columns,
        require_numeric,
    )
    from kubedrift.stats.evaluation import EvaluationError  # noqa: PLC0415

    try:
        monitor = load_monitor(args.monitor)
        baseline = load_baseline(args.baseline)
        columns = read_table(args.data)
        rows, predictions, labels = baseline_inputs(baseline, columns, args.data)
        times = None
        if args.time_column:
            require_columns(columns, [args.time_column], args.data)
            require_numeric(columns, [args.time_column], args.data)
            times = columns[args.time_column]
        probabilities = _probabilities(baseline, columns, args.probabilities, args.data)
        if args.rate <= 0 or args.batch <= 0:
            raise InputError("--rate and --batch must be positive")
        if args.plot:
            _check_matplotlib()
        size = len(next(iter(columns.values())))
        show = args.progress == "always" or (
            args.progress == "auto" and sys.stderr.isatty() and size >= PROGRESS_MIN_ROWS
        )
        result = replay(
            monitor,
            baseline,
            rows,
            predictions,
            labels,
            times=times,
            rate=args.rate,
            batch=args.batch,
            progress=_progress_bar(size) if show else None,
            probabilities=probabilities,
        )
    except (InputError, EvaluationError, ValueError) as error:
        print(f"kubedrift backtest: {error}", file=sys.stderr)
        return 2
    if args.plot:
        _plot(result, args.plot)
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(_table(result))
    return 0


def _probabilities(baseline: Any, columns: Any, named: str | None, path: Path) -> Any:
    """The ``[rows, classes]`` probability matrix of the stream, or ``None``."""
    import numpy as np  # noqa: PLC0415

    from kubedrift.commands.tabular_files import (  # noqa: PLC0415
        InputError,
        require_columns,
        require_numeric,
        split_list,
    )

    calibration = baseline.calibration
    names = split_list(named) or (list(calibration.columns) if calibration is not None else [])
    if named and calibration is None:
        raise InputError("--probabilities needs a baseline built with --probabilities")
    if not names or (not named and not all(name in columns for name in names)):
        return None
    require_columns(columns, names, path)
    require_numeric(columns, names, path)
    return np.stack([np.asarray(columns[name], dtype=np.float64) for name in names], axis=1)


def _check_matplotlib() -> None:
    from kubedrift.commands.tabular_files import InputError  # noqa: PLC0415

    try:
        import matplotlib  # noqa: F401, PLC0415
    except ImportError as error:
        raise InputError(
            "--plot needs matplotlib, which is not installed; install it with: "
            "pip install 'kubedrift[plot]'"
        ) from error


def _progress_bar(total: int) -> Any:
    width = 40
    last = [-1]

    def show(done: int) -> None:
        percent = done * 100 // total
        if percent == last[0]:
            return
        last[0] = percent
        filled = width * done // total
        sys.stderr.write(
            f"\r[{'#' * filled}{' ' * (width - filled)}] {percent:3d}% {done}/{total} rows"
        )
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _table(result: Replay) -> str:
    lines = [
        f"{'row':>9}  {'verdict':<8} {'share':>6}  {'metric':>8} {'bound':>8}  conditions / drifted"
    ]
    previous: tuple[str, ...] | None = None
    for index, item in enumerate(result.evaluations):
        decision = item.decision
        states = tuple(
            "-" if state is None else state.status
            for state in (decision.drift, decision.performance, decision.quality)
        )
        key = (item.verdict, *states)
        last = index == len(result.evaluations) - 1
        if key == previous and not last:
            continue
        previous = key
        performance = item.evaluation.performance
        value = "-" if not performance or performance.value is None else f"{performance.value:.4f}"
        decision_bound = item.decision_bound
        shown = "-" if decision_bound is None else f"{decision_bound:.4f}"
        drifted = ", ".join(decision.drifted) or "-"
        flags = "/".join(states)
        lines.append(
            f"{item.row:>9}  {item.verdict:<8} {decision.share:>6.2f}"
            f"  {value:>8} {shown:>8}  {flags}  {drifted}"
        )
    lines.append("")
    lines.extend(f"alert at row {a.row}: {a.type} ({a.detail})" for a in result.alerts)
    lines.extend(f"retraining at row {r.row}: {r.reason}" for r in result.retrainings)
    lines.append(
        f"{len(result.evaluations)} evaluations, {len(result.alerts)} alerts, "
        f"{len(result.retrainings)} would-be retrainings "
        f"(conditions: drift/performance/data quality; threshold {result.threshold:.2f} over "
        f"{result.alternatives} detector alternatives)"
    )
    return "\n".join(lines)


def _plot(result: Replay, path: Path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    rows = [item.row for item in result.evaluations]
    figure, (share_axis, metric_axis) = plt.subplots(2, 1, sharex=True, figsize=(9, 6))
    share_axis.step(
        rows,
        [item.decision.share for item in result.evaluations],
        where="pre",
        label="drift share",
    )
    share_axis.axhline(result.drift_share, color="grey", linestyle="--", label="driftShare")
    share_axis.set_ylabel("share of drifted features")
    share_axis.set_ylim(0, 1.05)
    points = [(item.row, item.evaluation.performance) for item in result.evaluations]
    metric_rows = [row for row, p in points if p is not None and p.value is not None]
    metric_values = [p.value for _, p in points if p is not None and p.value is not None]
    if metric_rows:
        metric_axis.plot(metric_rows, metric_values, marker="o", label="metric")
        first = next(p for _, p in points if p is not None)
        metric_axis.axhline(first.threshold, color="grey", linestyle="--", label="threshold")
        metric_axis.set_ylabel(first.metric)
    for axis in (share_axis, metric_axis):
        for alert in result.alerts:
            axis.axvline(alert.row, color="tab:red", alpha=0.5, linewidth=1)
        for retraining in result.retrainings:
            axis.axvline(retraining.row, color="tab:green", linestyle=":", linewidth=2)
    metric_axis.set_xlabel("row (red: alerts, green dotted: would-be retrainings)")
    share_axis.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
