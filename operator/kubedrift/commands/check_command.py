"""``kubedrift check``: compare one data file with a baseline, once, and exit 0/1/2.

    kubedrift check --baseline baseline.json --data current.csv [--method auto] \\
        [--correction bonferroni] [--format table|json]

Exit codes: 0 no drift and no degradation, 1 drift or degraded performance, 2 bad input. The whole
file is one window judged with the same code the operator runs (``kubedrift.stats.evaluate``).
When the file has the baseline's prediction and label columns, performance is checked too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubedrift.stats.baseline import Baseline
    from kubedrift.stats.evaluation import Evaluation
    from kubedrift.stats.settings import Metric, PerformanceSettings

METHODS = ("auto", "ks", "chi2", "psi", "jensenshannon", "wasserstein", "hellinger")
CORRECTIONS = ("none", "bonferroni", "benjamini-hochberg")
METRICS = ("accuracy", "error-rate", "precision", "recall", "f1", "f1-macro", "mae", "rmse", "mape")
#: Without --performance-threshold the threshold is the baseline's reference value made 10 %
#: worse (times 0.9 where higher is better, times 1.1 for errors).
DEFAULT_TOLERANCE = 0.10


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--baseline", type=Path, required=True, help="baseline.json")
    parser.add_argument("--data", type=Path, required=True, help="current data (CSV or Parquet)")
    parser.add_argument("--method", choices=METHODS, default="auto", help="drift test")
    parser.add_argument("--correction", choices=CORRECTIONS, default="bonferroni")
    parser.add_argument(
        "--threshold",
        type=float,
        help="significance level (ks, chi2) or distance threshold (others)",
    )
    parser.add_argument(
        "--drift-share",
        type=float,
        default=0.5,
        help="share of drifted features that means dataset drift",
    )
    parser.add_argument(
        "--min-effect",
        type=float,
        help="effect-size floor for p-value tests (default 0.05; 0 disables)",
    )
    parser.add_argument("--min-samples", type=int, default=100, help="fewest rows worth testing")
    parser.add_argument(
        "--metric",
        choices=METRICS,
        help="performance metric (default accuracy for classifiers, rmse for regressors)",
    )
    parser.add_argument(
        "--performance-threshold",
        type=float,
        help="degraded beyond this (default: the baseline's value made 10%% worse)",
    )
    parser.add_argument(
        "--min-labels", type=int, default=200, help="fewest labels to judge performance"
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")


def run(args: argparse.Namespace) -> int:
    from kubedrift.commands.tabular_files import (  # noqa: PLC0415 - keep start-up light
        InputError,
        baseline_inputs,
        load_baseline,
        read_table,
    )
    from kubedrift.stats.evaluation import EvaluationError, evaluate  # noqa: PLC0415
    from kubedrift.stats.settings import (  # noqa: PLC0415
        DriftSettings,
        EvaluationSettings,
        WindowSettings,
    )
    from kubedrift.stats.window import Window  # noqa: PLC0415

    try:
        baseline = load_baseline(args.baseline)
        columns = read_table(args.data)
        rows, predictions, labels = baseline_inputs(baseline, columns, args.data)
        size = len(next(iter(columns.values())))
        if size < args.min_samples:
            raise InputError(
                f"{args.data}: {size} rows, fewer than --min-samples {args.min_samples}"
            )
        performance = None
        if predictions is not None and labels is not None and baseline.task is not None:
            performance = performance_settings(baseline, args)
        settings = EvaluationSettings(
            drift=DriftSettings(
                method=args.method,
                threshold=args.threshold,
                correction=args.correction,
                drift_share=args.drift_share,
                min_effect=args.min_effect,
            ),
            performance=performance,
            window=WindowSettings(samples=size, min_samples=args.min_samples),
        )
        window = Window(baseline, settings.window, seed=0, start=0.0)
        window.update(rows, predictions)
        if performance is not None and predictions is not None and labels is not None:
            window.add_labeled(predictions, labels)
        evaluation = evaluate(baseline, window, settings)
    except (InputError, EvaluationError, ValueError) as error:
        print(f"kubedrift check: {error}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(evaluation.to_dict(), indent=2))
    else:
        print(render_table(evaluation, settings.drift.drift_share))
    return 1 if evaluation.drift or evaluation.degraded else 0


def performance_settings(baseline: Baseline, args: argparse.Namespace) -> PerformanceSettings:
    from kubedrift.stats.performance import HIGHER_IS_BETTER  # noqa: PLC0415
    from kubedrift.stats.settings import PerformanceSettings  # noqa: PLC0415

    metric: Metric = args.metric or ("accuracy" if baseline.task == "classification" else "rmse")
    threshold = args.performance_threshold
    if threshold is None:
        reference = baseline.performance.get(metric)
        if reference is None:
            raise ValueError(
                f"--performance-threshold is needed for {metric}: the baseline "
                "has no reference value for it"
            )
        factor = 1 - DEFAULT_TOLERANCE if metric in HIGHER_IS_BETTER else 1 + DEFAULT_TOLERANCE
        threshold = reference * factor
    return PerformanceSettings(
        metric=metric, threshold=threshold, min_labeled_samples=args.min_labels
    )


def render_table(evaluation: Evaluation, drift_share: float) -> str:
    """A fixed-width report for people; ``--format json`` is the one for programs."""
    lines = [
        f"{'feature':<24} {'type':<11} {'method':<13} {'statistic':>10} {'p-value':>9} "
        f"{'threshold':>9} {'effect':>7}  drifted"
    ]
    results = [*evaluation.features, *([evaluation.prediction] if evaluation.prediction else [])]
    for result in results:
        name = result.name + (" (prediction)" if result is evaluation.prediction else "")
        p_value = "-" if result.p_value is None else f"{result.p_value:.2g}"
        effect = "-" if result.effect is None else f"{result.effect:.3f}"
        lines.append(
            f"{name:<24} {result.type:<11} {result.method:<13} {result.statistic:>10.4g} "
            f"{p_value:>9} {result.threshold:>9.3g} {effect:>7}  "
            f"{'YES' if result.drifted else 'no'}"
        )
    drifted = sum(result.drifted for result in evaluation.features)
    lines.append("")
    lines.append(
        f"drifted features: {drifted} of {len(evaluation.features)} "
        f"(share {evaluation.share:.2f}, driftShare {drift_share:.2f})"
    )
    performance = evaluation.performance
    if performance is not None:
        value = "n/a" if performance.value is None else f"{performance.value:.4f}"
        bounds = (
            ""
            if performance.lower_bound is None or performance.upper_bound is None
            else f" [{performance.lower_bound:.4f}, {performance.upper_bound:.4f}]"
        )
        state = "DEGRADED" if performance.degraded else "ok"
        lines.append(
            f"performance: {performance.metric} {value}{bounds} vs threshold "
            f"{performance.threshold:.4f} on {performance.samples} labels: {state}"
        )
    lines.append(f"verdict: {evaluation.verdict}")
    return "\n".join(lines)
