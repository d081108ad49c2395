"""The ``kubedrift`` command line.

Every subcommand lives in ``kubedrift.commands.<name>`` and exposes two functions:
``configure(parser)`` adds its arguments, ``run(args) -> int`` does the work and returns the exit
code. Command modules keep their top-level imports light (no numpy, kopf or kubernetes) so that
``kubedrift --help`` and ``kubedrift check`` start quickly; heavy imports happen inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Mapping, Sequence
from typing import Protocol, cast

from kubedrift import __version__

#: Subcommand name -> (module, one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "operator": ("kubedrift.commands.operator_command", "run the ModelMonitor operator"),
    "sidecar": (
        "kubedrift.commands.sidecar_command",
        "run the sampling sidecar next to a model server",
    ),
    "baseline": (
        "kubedrift.commands.baseline_command",
        "build a baseline profile from training data",
    ),
    "check": ("kubedrift.commands.check_command", "compare a data file with a baseline, once"),
    "backtest": (
        "kubedrift.commands.backtest_command",
        "replay a data stream through a monitor offline",
    ),
}


class Command(Protocol):
    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def build_parser(
    prog: str = "kubedrift",
    description: str = "Detect drift in deployed ML models, retrain them and roll them out.",
    commands: Mapping[str, tuple[str, str]] = COMMANDS,
) -> argparse.ArgumentParser:
    """The parser of ``commands`` (name -> (module, help)); ``kubedrift_dev`` reuses it."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--version", action="version", version=f"{prog} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in commands.items():
        module = cast(Command, importlib.import_module(module_name))
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    args = (parser or build_parser()).parse_args(argv)
    code: int = args._run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
