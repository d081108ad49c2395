"""When the next retraining Job may start: a Job that keeps failing is retried after the cooldown,
then ever less often; after a success only evidence gathered after that Job started counts.

Regression: with a short cooldown, the evaluation right after a successful Job saw the same
drifted window (sidecars not yet rolled) and started a second Job for the same trigger; found by
the kill -9 retraining trials.
"""

from __future__ import annotations

import pytest

from kubedrift.api.spec import parse_spec
from kubedrift.api.status import RetrainingStatus
from kubedrift.controller.retraining import cooldown_seconds, due_trigger
from kubedrift.controller.timestamps import to_timestamp

SPEC = parse_spec(
    {
        "target": {"deployment": "model", "port": 8080},
        "baseline": {"configMapRef": {"name": "baseline"}},
        "retraining": {
            "triggers": ["DriftDetected"],
            "cooldown": "10m",
            "template": {"spec": {"template": {"spec": {"containers": [{"name": "t"}]}}}},
        },
    }
)


def failed(failures: int, started: float = 0.0) -> RetrainingStatus:
    status = RetrainingStatus(count=failures, lastResult="Failed", failures=failures)
    status["lastStartTime"] = to_timestamp(started)
    return status


@pytest.mark.parametrize(
    ("failures", "minutes"), [(0, 10), (1, 10), (2, 20), (3, 40), (4, 80), (5, 80), (40, 80)]
)
def test_each_consecutive_failure_after_the_first_doubles_the_cooldown_up_to_8x(
    failures: int, minutes: int
) -> None:
    assert cooldown_seconds(SPEC, failed(failures)) == minutes * 60


def test_after_three_failures_the_trigger_waits_40_minutes_not_10() -> None:
    status = failed(3, started=1000.0)

    assert due_trigger(SPEC, ["DriftDetected"], status, now=1000.0 + 39 * 60) is None
    assert due_trigger(SPEC, ["DriftDetected"], status, now=1000.0 + 40 * 60) == "DriftDetected"


def succeeded(started: float) -> RetrainingStatus:
    status = RetrainingStatus(count=1, lastResult="Succeeded")
    status["lastStartTime"] = to_timestamp(started)
    return status


def test_after_a_success_the_window_that_triggered_it_starts_no_second_job() -> None:
    later = 1000.0 + 3600

    stale = due_trigger(SPEC, ["DriftDetected"], succeeded(1000.0), later, window_start=990.0)
    fresh = due_trigger(SPEC, ["DriftDetected"], succeeded(1000.0), later, window_start=1010.0)

    assert stale is None
    assert fresh == "DriftDetected"


def test_after_a_failure_the_same_window_still_triggers_a_retry_after_the_cooldown() -> None:
    retry = due_trigger(SPEC, ["DriftDetected"], failed(1, started=1000.0), 1000.0 + 600,
                        window_start=990.0)  # fmt: skip

    assert retry == "DriftDetected"
