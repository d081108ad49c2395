"""`kubedrift operator`: not implemented yet (its issue has not landed)."""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    del args
    print("kubedrift operator: not implemented yet", file=sys.stderr)
    return 2
