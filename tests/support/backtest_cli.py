"""The ``kubedrift backtest`` set-up the CLI tests share: the toy monitor's YAML (extended by
each test's sections) and one call of the command."""

from __future__ import annotations

from pathlib import Path

from kubedrift.cli import main

#: The toy monitor: a Deployment, its baseline ConfigMap, 500-row windows judged from 100 rows.
MONITOR = """\
apiVersion: kubedrift.io/v1alpha1
kind: ModelMonitor
metadata: {name: toy}
spec:
  target: {deployment: toy, port: 8080}
  baseline: {configMapRef: {name: toy-baseline}}
  window: {samples: 500, minSamples: 100, maxAge: 1h}
"""


def monitor_file(folder: Path, sections: str = "") -> Path:
    """``monitor.yaml`` in ``folder``: the toy monitor plus ``sections`` of its spec (YAML
    indented by two spaces)."""
    path = folder / "monitor.yaml"
    path.write_text(MONITOR + sections)
    return path


def backtest(monitor: Path, baseline: Path, data: Path, *extra: str) -> int:
    """``kubedrift backtest`` of ``data`` with ``monitor`` and ``baseline``; its exit code."""
    command = ["backtest", "--monitor", str(monitor), "--baseline", str(baseline)]
    return main([*command, "--data", str(data), *extra])
