"""Pick the event loop and run :func:`kubedrift.sidecar.app.serve`; the CLI's entry point.

uvloop is used when ``event_loop`` is ``auto`` and it is installed, or when asked for explicitly
(then its absence is an error). docs/sidecar.md has the measurements behind that default.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine
from typing import Any

from kubedrift.sidecar.app import serve
from kubedrift.sidecar.config import ConfigError, SidecarConfig

logger = logging.getLogger("kubedrift.sidecar")


def run_loop(main: Coroutine[Any, Any, None], event_loop: str) -> None:
    if event_loop in ("auto", "uvloop"):
        try:
            import uvloop  # noqa: PLC0415 - optional
        except ImportError:
            if event_loop == "uvloop":
                main.close()
                raise ConfigError(
                    "eventLoop: uvloop is not installed (pip install 'kubedrift[fast]')"
                ) from None
        else:
            uvloop.run(main)
            return
    asyncio.run(main)


def run_sidecar(config: SidecarConfig) -> int:
    """Run until SIGTERM; 0 on a clean stop, 2 on a start-up error (printed without a traceback)."""
    try:
        run_loop(serve(config), config.event_loop)
    except (OSError, ValueError) as error:
        print(f"kubedrift sidecar: {error}", file=sys.stderr)
        return 2
    return 0
