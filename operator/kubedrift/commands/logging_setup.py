"""Logging options shared by the long-running commands (``operator``, ``sidecar``)."""

from __future__ import annotations

import argparse
import logging

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def add_log_level(parser: argparse.ArgumentParser) -> None:
    """Add ``--log-level`` (default INFO)."""
    parser.add_argument("--log-level", default="INFO", choices=LEVELS, help="log level")


def setup_logging(level: str) -> None:
    """One line per record: time, level, logger, message (never payload values)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
