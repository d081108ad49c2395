"""Which Pods report, how their windows merge, and what an evaluation observes."""

from __future__ import annotations

from typing import Any

import pytest

from kubedrift.api.spec_settings import evaluation_settings
from kubedrift.controller.observation import (
    merge_reports,
    observation_from,
    reporting_pods,
    sidecars,
)
from support.controller_samples import make_deployment, make_spec, sample_baseline, sample_window

START = 1_800_000_000.0


def pod(
    name: str,
    annotations: dict[str, str] | None = None,
    *,
    ready: bool = True,
    ip: str | None = "127.0.1.2",
) -> Any:
    return {
        "metadata": {"name": name, "annotations": annotations or {}},
        "status": {
            "podIP": ip,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def chosen_samples(reports: list[dict[str, Any]], baseline: Any, settings: Any) -> int:
    window = merge_reports(reports, baseline, settings).chosen(50)
    assert window is not None
    return window.samples


def report(window: Any, completed: Any = None) -> dict[str, Any]:
    return {
        "current": window.to_dict(),
        "completed": None if completed is None else completed.to_dict(),
    }


def test_only_ready_addressed_current_pods_report() -> None:
    deployment = make_deployment()
    deployment["spec"]["template"]["metadata"]["annotations"] = {"kubedrift.io/config-hash": "new"}
    deleting = pod("e", {"kubedrift.io/config-hash": "new"})
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    pods = [
        pod("b", {"kubedrift.io/config-hash": "new"}),
        pod("a", {"kubedrift.io/config-hash": "new"}),
        pod("c", {"kubedrift.io/config-hash": "old"}),  # still draining after a change
        pod("d", {"kubedrift.io/config-hash": "new"}, ready=False),
        pod("f", {"kubedrift.io/config-hash": "new"}, ip=None),
        deleting,
    ]

    chosen = reporting_pods(pods, deployment)

    assert [p["metadata"]["name"] for p in chosen] == ["a", "b"]
    assert sidecars(chosen, 8481)[0].url == "http://127.0.1.2:8481"


def test_pods_from_before_a_rollout_do_not_report() -> None:
    deployment = make_deployment()
    deployment["spec"]["template"]["metadata"]["annotations"] = {"kubedrift.io/model-version": "2"}

    chosen = reporting_pods([pod("old"), pod("new", {"kubedrift.io/model-version": "2"})],
                            deployment)  # fmt: skip

    assert [p["metadata"]["name"] for p in chosen] == ["new"]


def test_windows_of_all_reporting_sidecars_are_merged_and_failures_counted() -> None:
    baseline = sample_baseline()
    settings = evaluation_settings(make_spec())
    one = sample_window(baseline, shift=0.0, rows=120, seed=2, start=START)
    two = sample_window(baseline, shift=0.0, rows=80, seed=3, start=START + 5)

    merged = merge_reports([report(one), None, {"current": {"version": 99}}, report(two)],
                           baseline, settings)  # fmt: skip

    assert merged.reporting == 2
    assert merged.current is not None
    assert merged.current.samples == 200
    assert (merged.current.start, merged.current.end) == (START, START + 25)


def test_completed_windows_fill_in_when_the_current_ones_are_too_small() -> None:
    baseline = sample_baseline()
    settings = evaluation_settings(make_spec())  # minSamples 50
    small = sample_window(baseline, shift=0.0, rows=20, seed=2, start=START)
    done = sample_window(baseline, shift=0.0, rows=300, seed=3, start=START - 100)
    large = sample_window(baseline, shift=0.0, rows=60, seed=4, start=START)

    assert chosen_samples([report(small, done)], baseline, settings) == 320
    assert chosen_samples([report(large, done)], baseline, settings) == 60


def test_no_reporting_sidecar_gives_no_evaluation() -> None:
    baseline = sample_baseline()
    settings = evaluation_settings(make_spec())

    observation = observation_from(merge_reports([None], baseline, settings), 2, baseline, settings)

    assert observation.evaluation is None
    assert (observation.desired, observation.reporting, observation.has_data) == (2, 0, False)


@pytest.mark.parametrize(("shift", "drift"), [(0.0, False), (3.0, True)])
def test_observation_evaluates_the_merged_window(shift: float, drift: bool) -> None:
    baseline = sample_baseline()
    settings = evaluation_settings(make_spec())
    window = sample_window(baseline, shift=shift, rows=400, seed=5, start=START)

    merged = merge_reports([report(window)], baseline, settings)
    observation = observation_from(merged, 1, baseline, settings)

    assert observation.evaluation is not None
    assert observation.evaluation.drift is drift
    assert observation.evaluation.degraded is drift
    assert (observation.window_start, observation.window_end) == (START, START + 20)
