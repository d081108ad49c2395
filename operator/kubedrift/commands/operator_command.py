"""`kubedrift operator`: run the ModelMonitor operator (kopf) with its HTTP server.

docs/operator.md describes the flags, what the operator adds to a Deployment, the status, the
Events, the metrics and the retraining Job contract.
"""

from __future__ import annotations

import argparse
import os
import sys

from kubedrift.commands.logging_setup import add_log_level, setup_logging


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument(
        "--namespace",
        "-n",
        action="append",
        default=[],
        metavar="NS",
        help="watch ModelMonitors in this namespace (repeatable)",
    )
    scope.add_argument(
        "--all-namespaces", "-A", action="store_true", help="watch ModelMonitors cluster-wide"
    )
    add(
        "--sidecar-image",
        default=os.environ.get("KUBEDRIFT_SIDECAR_IMAGE", "ghcr.io/kubedrift/kubedrift:latest"),
        help="image of the injected sidecar (env KUBEDRIFT_SIDECAR_IMAGE)",
    )
    add(
        "--listen",
        default="0.0.0.0:8080",
        metavar="HOST:PORT",
        help="address of /healthz, /metrics and the dataset endpoint (default 0.0.0.0:8080)",
    )
    add(
        "--dataset-url",
        default=os.environ.get("KUBEDRIFT_DATASET_URL"),
        metavar="URL",
        help="base URL at which retraining Jobs reach this server, e.g. the operator's Service "
        "(default: http://$POD_IP:PORT, env KUBEDRIFT_DATASET_URL)",
    )
    add("--kubeconfig", metavar="FILE", help="kubeconfig (default: in-cluster or $KUBECONFIG)")
    add(
        "--peering",
        metavar="NAME",
        help="kopf peering name, needed when running more than one replica (default: standalone)",
    )
    add(
        "--retraining-service-account",
        action="append",
        default=[],
        metavar="NAME",
        help="ServiceAccount a retraining Job may run as (repeatable; without it only the "
        "namespace's default account)",
    )
    add(
        "--sidecar-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="timeout of each request to a sidecar (default 5)",
    )
    add(
        "--watch-timeout",
        type=int,
        default=300,
        metavar="SECONDS",
        help="the API server ends each watch request after this long and the operator resumes "
        "it (default 300)",
    )
    add(
        "--recheck-interval",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how often the operator reads each monitor's sidecar ConfigMap and token Secret "
        "again, restoring them if deleted or edited by hand (default 300)",
    )
    add_log_level(parser)


def run(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415 - keep `kubedrift --help` fast

    from kubedrift.controller.operator_faults import StaleWrites  # noqa: PLC0415
    from kubedrift.controller.operator_main import OperatorOptions, run_operator  # noqa: PLC0415

    setup_logging(args.log_level)
    host, _, port = args.listen.rpartition(":")
    if not port.isdigit():
        print(f"--listen {args.listen!r}: expected HOST:PORT", file=sys.stderr)
        return 2
    if args.watch_timeout < 1:
        print("--watch-timeout: expected a positive number of seconds", file=sys.stderr)
        return 2
    if not args.recheck_interval > 0:
        print("--recheck-interval: expected a positive number of seconds", file=sys.stderr)
        return 2
    try:
        faults = StaleWrites.from_environ(os.environ)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    options = OperatorOptions(
        namespaces=tuple(args.namespace),
        all_namespaces=args.all_namespaces,
        sidecar_image=args.sidecar_image,
        listen_host=host.strip("[]") or "0.0.0.0",
        listen_port=int(port),
        dataset_url=args.dataset_url,
        kubeconfig=args.kubeconfig,
        peering=args.peering,
        sidecar_timeout=args.sidecar_timeout,
        retraining_service_accounts=tuple(args.retraining_service_account),
        watch_timeout=args.watch_timeout,
        recheck_interval=args.recheck_interval,
        faults=faults,
    )
    problem = asyncio.run(run_operator(options))
    if problem is not None:
        print(f"kubedrift operator: {problem}", file=sys.stderr)
        return 1
    return 0
