"""The chart's PrometheusRule: valid for promtool and firing exactly when it should."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support.chart_render import Helm, find

#: promtool (make tools: Debian package prometheus) checks the rules helm renders.
pytestmark = pytest.mark.tools

HERE = Path(__file__).resolve().parent
ALERTS = {
    "KubedriftModelDrift",
    "KubedriftPerformanceDegraded",
    "KubedriftDataQuality",
    "KubedriftSegmentDrift",
    "KubedriftRetrainingFailed",
    "KubedriftRetrainingRejected",
    "KubedriftModelRolledBack",
    "KubedriftSidecarsNotReporting",
    "KubedriftOperatorDown",
}


@pytest.fixture
def rules(helm: Helm, tmp_path: Path) -> Path:
    """The rendered rule groups as a Prometheus rules file, next to a copy of alerts_test.yaml."""
    (rule,) = find(helm.manifests({"prometheusRule": {"enabled": True}}), "PrometheusRule")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rule["spec"]))
    shutil.copy(HERE / "alerts_test.yaml", tmp_path / "alerts_test.yaml")
    return path


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is missing: `make tools` installs it (Debian package prometheus)")
    return subprocess.run([binary, *args], capture_output=True, text=True, cwd=cwd, check=False)


def test_rules_cover_every_alert_the_issue_asks_for(rules: Path) -> None:
    groups = yaml.safe_load(rules.read_text())["groups"]
    assert {r["alert"] for g in groups for r in g["rules"]} == ALERTS


def test_rules_pass_promtool_check(rules: Path) -> None:
    answer = promtool("check", "rules", str(rules), cwd=rules.parent)
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert "SUCCESS: 9 rules found" in answer.stdout


def test_alerts_fire_as_specified_in_alerts_test(rules: Path) -> None:
    answer = promtool("test", "rules", "alerts_test.yaml", cwd=rules.parent)
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert "SUCCESS" in answer.stdout
