"""The proxy process stays lean: it never loads numpy, scipy, aiohttp or prometheus_client."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "scipy", "aiohttp", "prometheus_client", "kubedrift.stats.window")


def test_the_request_path_modules_import_no_heavy_library() -> None:
    probe = (
        "import json, sys\n"
        "import kubedrift.commands.sidecar, kubedrift.sidecar.sidecar_main\n"
        "import kubedrift.sidecar.proxy_service\n"
        f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))\n"
    )

    finished = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )

    assert json.loads(finished.stdout) == []
