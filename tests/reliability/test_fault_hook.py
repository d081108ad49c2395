"""The fault-injection hook is off unless asked for, and does exactly what it is asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubedrift.payloads import parse_exchange
from kubedrift.sidecar.sidecar_faults import InjectedFaultError, parser_from_environ, read_faults
from support.sidecar_process import free_port

REQUEST = json.dumps({"instances": [[1.0, 2.0, 3.0]]}).encode()
RESPONSE = json.dumps({"predictions": [1]}).encode()


def test_without_the_variable_the_real_parser_is_used_unwrapped() -> None:
    assert parser_from_environ({}) is parse_exchange
    assert parser_from_environ({"KUBEDRIFT_TEST_FAULTS": ""}) is parse_exchange


def test_parser_exception_every_third_call() -> None:
    parse = parser_from_environ({"KUBEDRIFT_TEST_FAULTS": "parser_exception_every=3"})
    outcomes = []
    for _ in range(7):
        try:
            parse("kserve-v1", REQUEST, RESPONSE)
            outcomes.append("ok")
        except InjectedFaultError:
            outcomes.append("fault")

    assert outcomes == ["ok", "ok", "fault", "ok", "ok", "fault", "ok"]


@pytest.mark.parametrize(
    "value", ["parser_exception=3", "parser_exception_every=0", "parser_exception_every=x"]
)
def test_a_misspelt_fault_is_an_error_not_a_silent_no_op(value: str) -> None:
    with pytest.raises(ValueError, match="KUBEDRIFT_TEST_FAULTS"):
        read_faults({"KUBEDRIFT_TEST_FAULTS": value})


def test_the_sidecar_refuses_to_start_with_a_misspelt_fault(baseline_file: Path) -> None:
    command = [
        sys.executable, "-m", "kubedrift", "sidecar", "--listen", f"127.0.0.1:{free_port()}",
        "--admin", f"127.0.0.1:{free_port()}", "--upstream", f"http://127.0.0.1:{free_port()}",
        "--baseline", str(baseline_file),
    ]  # fmt: skip
    env = {**os.environ, "KUBEDRIFT_TEST_FAULTS": "parser_exceptions_every=5"}

    done = subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)

    assert done.returncode == 2
    assert b"KUBEDRIFT_TEST_FAULTS: unknown fault" in done.stderr
