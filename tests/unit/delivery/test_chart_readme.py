"""Every chart value is documented in the chart README's table, and nothing else is."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[3] / "charts" / "kubedrift"


def leaves(values: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted paths of the values: non-empty mappings are walked, anything else is a leaf."""
    found = set()
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            found |= leaves(value, f"{path}.") | {path}
        else:
            found.add(path)
    return found


def documented() -> set[str]:
    table = (CHART / "README.md").read_text().split("## Values", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Za-z.]+)` \|", table, flags=re.MULTILINE))


def test_every_value_is_in_the_readme_table() -> None:
    paths = leaves(yaml.safe_load((CHART / "values.yaml").read_text()))
    names = documented()
    undocumented = {
        path for path in paths
        if not any(path == name or path.startswith(f"{name}.") for name in names)
        and not any(name.startswith(f"{path}.") for name in names)
    }  # fmt: skip
    assert undocumented == set()


def test_readme_table_names_only_real_values() -> None:
    paths = leaves(yaml.safe_load((CHART / "values.yaml").read_text()))
    assert documented() - paths == set()
