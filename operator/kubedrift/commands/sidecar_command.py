"""`kubedrift sidecar`: the sampling proxy (or mirror receiver) next to a model server.

Flags override the YAML config file (``--config``, which the operator mounts from a ConfigMap).
The request path needs httptools (the ``fast`` extra); uvloop is used when installed unless
``--event-loop asyncio``. docs/sidecar.md describes every flag, key, endpoint and metric.
"""

from __future__ import annotations

import argparse
import sys

from kubedrift.commands.logging_setup import add_log_level, setup_logging
from kubedrift.payloads.model import PROTOCOLS


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--config", metavar="FILE", help="YAML config file; flags override its keys")
    add(
        "--model-config",
        metavar="FILE",
        action="append",
        default=[],
        help="config file of a further model on the same port (its model, baseline, window, "
        "sampling, payload and token); repeatable",
    )
    add("--listen", metavar="HOST:PORT", help="proxy (or mirror) port (default 0.0.0.0:9000)")
    add(
        "--admin",
        metavar="HOST:PORT",
        help="admin port: feedback, window, metrics (default 0.0.0.0:9001)",
    )
    add("--upstream", metavar="URL", help="model server, http://127.0.0.1:PORT (default port 8080)")
    add("--baseline", metavar="FILE", help="baseline JSON from `kubedrift baseline build`")
    add(
        "--mode",
        choices=("proxy", "mirror"),
        help="proxy: in the request path; mirror: receive copies",
    )
    add(
        "--protocol",
        choices=PROTOCOLS,
        help="payload protocol (default auto: detected per request)",
    )
    add(
        "--sample-rate",
        type=float,
        metavar="R",
        help="share of requests sampled, 0..1 (default 0.1)",
    )
    add(
        "--max-samples-per-second",
        type=int,
        metavar="N",
        help="cap on samples per second (default 200)",
    )
    add(
        "--queue-size",
        type=int,
        metavar="N",
        help="samples waiting for the worker before drops (default 10000)",
    )
    add(
        "--event-loop",
        choices=("auto", "uvloop", "asyncio"),
        help="event loop (default auto: uvloop if installed)",
    )
    add(
        "--monitor-priority",
        choices=("idle", "low"),
        help="CPU priority of the monitor process (default idle: SCHED_IDLE; low: niceness +10)",
    )
    add_log_level(parser)


def run(args: argparse.Namespace) -> int:
    setup_logging(args.log_level)
    try:
        import httptools  # noqa: F401, PLC0415 - the request path's parser, checked before anything else
    except ImportError:
        print("kubedrift sidecar needs httptools: pip install 'kubedrift[fast]'", file=sys.stderr)
        return 2
    from kubedrift.sidecar.config import ConfigError, load_config  # noqa: PLC0415 - keep --help fast
    from kubedrift.sidecar.sidecar_main import run_sidecar  # noqa: PLC0415

    overrides = {
        "listen": args.listen,
        "admin": args.admin,
        "upstream": args.upstream,
        "baseline": args.baseline,
        "mode": args.mode,
        "protocol": args.protocol,
        "sample_rate": args.sample_rate,
        "max_samples_per_second": args.max_samples_per_second,
        "queue_size": args.queue_size,
        "event_loop": args.event_loop,
        "monitor_priority": args.monitor_priority,
    }
    try:
        config = load_config(args.config, overrides, tuple(args.model_config))
    except ConfigError as error:
        print(f"kubedrift sidecar: {error}", file=sys.stderr)
        return 2
    return run_sidecar(config)
