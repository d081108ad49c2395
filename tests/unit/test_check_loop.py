"""``make check`` and the pre-commit hook run the same steps, in the same order: the hook is the
inner loop at commit time, and a step added to one and not the other would make them disagree
about what "checked" means."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def make_check_steps() -> list[str]:
    """The ``check`` recipe's commands, with the Makefile's variables expanded as a venv would."""
    makefile = (REPO / "Makefile").read_text()
    variables = dict(re.findall(r"^([A-Z_]+) :?= (.*)$", makefile, re.MULTILINE))
    recipe = re.search(r"^check:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe is not None, "the Makefile has no check target"
    steps = []
    for line in recipe.group(1).splitlines():
        command = line.strip().replace("$(VENV)/bin/", "").replace("$(PY)", "python")
        steps.append(re.sub(r"\$\(([A-Z_]+)\)", lambda m: variables[m.group(1)], command))
    return steps


def pre_commit_steps() -> list[str]:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    return [hook["entry"] for repo in config["repos"] for hook in repo["hooks"]]


def test_the_pre_commit_hook_runs_what_make_check_runs() -> None:
    assert pre_commit_steps() == make_check_steps()


def test_make_check_leaves_out_only_what_needs_a_cluster_or_tools() -> None:
    (tests,) = [step for step in make_check_steps() if "pytest" in step]

    assert "-m 'not integration and not chaos and not realnode and not tools'" in tests
