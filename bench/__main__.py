"""``python -m bench [NAME ...] [--quick]`` (``make bench``): run the benchmarks, one process each.

A benchmark is a module ``bench/<name>.py`` with a top-level ``main()`` that no other file in
bench/ names; a file another benchmark names (a load generator or peer it starts as its own
process, like ``sidecar_loadgen.py``) is a helper and is not run directly. Each benchmark prints
its own figures as ratios against the peers it measured in the same run; this dispatcher runs
them in turn (``--quick`` is passed through) and closes with one line per benchmark.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    sources = {path.stem: path.read_text(encoding="utf-8") for path in sorted(HERE.glob("*.py"))}
    sources.pop("__main__", None)
    sources.pop("__init__", None)
    found = []
    for name, source in sources.items():
        tree = ast.parse(source)
        has_main = any(
            isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body
        )
        named_elsewhere = any(
            f"{name}.py" in other or f"bench.{name}" in other
            for key, other in sources.items()
            if key != name
        )
        if has_main and not named_elsewhere:
            found.append(name)
    return found


def main() -> int:
    arguments = sys.argv[1:]
    flags = [a for a in arguments if a.startswith("-")]
    wanted = [a for a in arguments if not a.startswith("-")]
    available = discover()
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        print(
            f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available)}",
            file=sys.stderr,
        )
        return 2
    summary = []
    for name in wanted or available:
        print(f"\n=== bench/{name}.py ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, "-m", f"bench.{name}", *flags], cwd=HERE.parent)
        summary.append((name, code, time.monotonic() - started))
    print("\n=== summary ===")
    for name, code, seconds in summary:
        print(f"{name:<28} {'ok' if code == 0 else f'exit {code}':<8} {seconds:7.1f} s")
    return max((code for _, code, _ in summary), default=0)


if __name__ == "__main__":
    sys.exit(main())
