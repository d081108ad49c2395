"""The proxy process stays lean: it never loads numpy, scipy, aiohttp or prometheus_client.

What ``kubedrift.sidecar.proxy_service`` reaches is an import-linter contract (pyproject.toml,
"The proxy process imports no ..."). A contract cannot say that ``commands.sidecar_command``
and ``sidecar.sidecar_main`` keep the monitor's imports inside function bodies (they import
``monitor_service`` lazily, in the forked monitor only), so that is checked here, at run time.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "scipy", "aiohttp", "prometheus_client", "kubedrift.stats.window")


def test_the_sidecar_entry_points_defer_heavy_imports_to_the_monitor_process() -> None:
    probe = (
        "import json, sys\n"
        "import kubedrift.commands.sidecar_command, kubedrift.sidecar.sidecar_main\n"
        f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))\n"
    )

    finished = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )

    assert json.loads(finished.stdout) == []
