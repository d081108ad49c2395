"""``kubedrift baseline``: build a baseline profile from training data, or wrap one in a ConfigMap.

kubedrift baseline build --data train.csv [--features a,b] [--categorical c]
                         [--prediction pred] [--label y] [--probabilities p0,p1]
                         -o baseline.json
kubedrift baseline configmap --baseline baseline.json --name NAME [--namespace NS]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_KEY = "baseline.json"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="profile training data into baseline.json")
    build.add_argument("--data", type=Path, required=True, help="training data (CSV or Parquet)")
    build.add_argument(
        "--features",
        help="comma-separated feature columns (default: all "
        "columns except --prediction and --label)",
    )
    build.add_argument(
        "--categorical",
        action="append",
        default=[],
        metavar="COLUMNS",
        help="columns to treat as categorical (comma-separated, repeatable)",
    )
    build.add_argument(
        "--numeric",
        action="append",
        default=[],
        metavar="COLUMNS",
        help="columns to treat as numeric (comma-separated, repeatable)",
    )
    build.add_argument("--prediction", help="column with the model's predictions")
    build.add_argument("--label", help="column with the true labels")
    build.add_argument(
        "--probabilities",
        metavar="COLUMNS",
        help="comma-separated columns with the model's class probabilities, one per class in "
        "sorted class order (a binary model: one column, the second class's); with --label they "
        "fit the calibration maps for performance estimated without labels",
    )
    build.add_argument("--bins", type=int, default=10, help="quantile bins per numeric feature")
    build.add_argument(
        "--max-categories",
        type=int,
        default=50,
        help="vocabulary size per categorical feature (the rest is 'other')",
    )
    build.add_argument("--seed", type=int, default=0, help="seed of the reference sample")
    build.add_argument(
        "--no-multivariate",
        dest="multivariate",
        action="store_false",
        help="do not fit the multivariate signal (PCA of two or more numeric features)",
    )
    build.add_argument(
        "--embedding-width",
        type=int,
        default=256,
        metavar="D",
        help="a tensor's columns <name>-0 .. <name>-(d-1) with d above D are an embedding block, "
        "judged through its principal components, norm and reconstruction error (default 256)",
    )
    build.add_argument(
        "--embedding",
        action="append",
        default=[],
        metavar="NAMES",
        help="tensors whose columns <name>-0 .. are an embedding block whatever their width "
        "(comma-separated, repeatable)",
    )
    build.add_argument(
        "--embedding-components",
        type=int,
        default=8,
        metavar="K",
        help="principal components kept per embedding block, 1 to 64 (default 8)",
    )
    build.add_argument(
        "--segment",
        help="categorical feature whose most frequent values get their own reference profiles "
        "(spec.segments)",
    )
    build.add_argument(
        "--segment-top",
        type=int,
        default=10,
        help="profile the N most frequent values of --segment with 100 or more rows (default 10, "
        "at most 20)",
    )
    build.add_argument(
        "--segment-values",
        help="comma-separated values of --segment to profile instead of the most frequent",
    )
    build.add_argument("-o", "--output", type=Path, required=True, help="where to write the JSON")
    configmap = sub.add_parser("configmap", help="print a ConfigMap manifest holding a baseline")
    configmap.add_argument("--baseline", type=Path, required=True)
    configmap.add_argument("--name", required=True, help="ConfigMap name")
    configmap.add_argument("--namespace", help="ConfigMap namespace")
    configmap.add_argument("--key", default=DEFAULT_KEY, help=f"data key (default {DEFAULT_KEY})")


def run(args: argparse.Namespace) -> int:
    from kubedrift.commands.tabular_files import InputError  # noqa: PLC0415 - keep start-up light
    from kubedrift.stats.baseline import BaselineError  # noqa: PLC0415

    try:
        if args.action == "build":
            return _build(args)
        return _configmap(args)
    except (InputError, BaselineError, OSError) as error:
        print(f"kubedrift baseline: {error}", file=sys.stderr)
        return 2


def _build(args: argparse.Namespace) -> int:
    from kubedrift.commands.tabular_files import (  # noqa: PLC0415
        InputError,
        read_table,
        split_list,
    )
    from kubedrift.stats.baseline import build_baseline  # noqa: PLC0415
    from kubedrift.stats.baseline_size import encode  # noqa: PLC0415

    columns = read_table(args.data)
    features = split_list(args.features) or None
    categorical = [name for text in args.categorical for name in split_list(text)]
    numeric = [name for text in args.numeric for name in split_list(text)]
    baseline = build_baseline(
        columns,
        features=features,
        categorical=categorical,
        numeric=numeric,
        prediction=args.prediction,
        label=args.label,
        bins=args.bins,
        max_categories=args.max_categories,
        seed=args.seed,
        multivariate=args.multivariate,
        probabilities=split_list(args.probabilities),
        embedding_width=args.embedding_width,
        embeddings=[name for text in args.embedding for name in split_list(text)],
        embedding_components=args.embedding_components,
    )
    if args.segment:
        from kubedrift.stats.segments import segment_baseline  # noqa: PLC0415

        baseline = segment_baseline(
            baseline,
            columns,
            args.segment,
            top=args.segment_top,
            values=split_list(args.segment_values) or None,
            seed=args.seed,
            multivariate=args.multivariate,
        )
    elif args.segment_values:
        raise InputError("--segment-values needs --segment")
    plain = baseline.to_json()
    text = encode(plain)  # compressed above the ConfigMap limit, or BaselineTooLargeError
    args.output.write_text(text + "\n", encoding="utf-8")
    kinds = [profile.type for profile in baseline.features]
    print(
        f"wrote {args.output}: {baseline.rows} rows, {kinds.count('numeric')} numeric and "
        f"{kinds.count('categorical')} categorical features, "
        + "".join(f"embedding {b.name} ({b.width} wide), " for b in baseline.embeddings)
        + f"{len(text) / 1024:.1f} KiB"
        + ("" if text == plain else f" (gzip-compressed from {len(plain) / 1024:.1f} KiB)")
        + (
            f"; segments of {baseline.segments.feature}: {', '.join(baseline.segments.values)}"
            if baseline.segments is not None
            else ""
        ),
        file=sys.stderr,
    )
    return 0


def _configmap(args: argparse.Namespace) -> int:
    import yaml  # noqa: PLC0415

    from kubedrift.stats.baseline import Baseline  # noqa: PLC0415
    from kubedrift.stats.baseline_size import encode  # noqa: PLC0415

    text = args.baseline.read_text(encoding="utf-8")
    Baseline.from_json(text)  # refuse to wrap something the operator could not read
    text = encode(text.strip())  # never a ConfigMap above 1 MiB
    metadata = {"name": args.name}
    if args.namespace:
        metadata["namespace"] = args.namespace
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "data": {args.key: text.strip()},
    }
    sys.stdout.write(yaml.safe_dump(manifest, sort_keys=False, width=1 << 30))
    return 0
