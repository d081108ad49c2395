"""The operator's test-only fault hook: off by default, each stale write taken once, typos are
errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kubedrift.controller.operator_faults import ENV, StaleWrites


def test_without_the_variable_no_write_is_made_stale() -> None:
    faults = StaleWrites.from_environ({})

    assert [faults.take(w) for w in ("inject", "takeover", "status")] == [False, False, False]


def test_each_named_write_path_is_made_stale_exactly_once() -> None:
    faults = StaleWrites.from_environ({ENV: "stale_first_write=inject+status"})

    taken = [faults.take(w) for w in ("inject", "inject", "takeover", "status", "status")]

    assert taken == [True, False, False, True, False]


@pytest.mark.parametrize(
    "value",
    [
        "stale_first_write=injct",
        "stale_first_write=",
        "stale_write=inject",
        "parser_exception_every=3",
    ],
)
def test_a_misspelt_fault_is_an_error_not_a_silent_no_op(value: str) -> None:
    with pytest.raises(ValueError, match=ENV):
        StaleWrites.from_environ({ENV: value})


def test_the_operator_refuses_to_start_with_a_misspelt_fault() -> None:
    command = [sys.executable, "-m", "kubedrift", "operator", "--namespace", "ml"]
    environ = {**os.environ, ENV: "stale_first_write=injct"}

    done = subprocess.run(
        command, check=False, env=environ, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 2
    assert "stale_first_write=injct" in done.stderr
