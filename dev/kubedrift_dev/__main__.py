"""``python -m kubedrift_dev``: the development command line (``demo``, ``dev-cluster``)."""

from __future__ import annotations

import sys

from kubedrift.cli import build_parser, main

#: Subcommand name -> (module, one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "kubedrift_dev.commands.demo_command",
        "run the whole drift/retrain loop on a local cluster",
    ),
    "dev-cluster": (
        "kubedrift_dev.commands.dev_cluster_command",
        "start or stop a local control plane",
    ),
}

if __name__ == "__main__":
    parser = build_parser(
        prog="python -m kubedrift_dev",
        description="kubedrift's development tools: a local cluster and the demo.",
        commands=COMMANDS,
    )
    sys.exit(main(parser=parser))
