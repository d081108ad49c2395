"""Following a gated retraining Job (``jobs.follow`` with ``spec.retraining.promotion``)
against an in-memory API: what is adopted, recorded and announced."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from prometheus_client import CollectorRegistry

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller import jobs
from kubedrift.controller.client import KubeClient, batch, core
from kubedrift.controller.context import OperatorContext
from kubedrift.controller.dataset import DatasetRegistry
from kubedrift.controller.operator_metrics import make_metrics
from kubedrift.controller.timestamps import from_timestamp
from support.controller_samples import MONITOR, OPTIONS, SPEC, make_spec, sample_baseline

NOW = from_timestamp("2026-12-07T13:00:00Z")
JOB = "fraud-retrain-1"


class Api:
    """The few reads and writes ``follow`` makes, in memory."""

    def __init__(self, message: dict[str, Any]) -> None:
        done = {"type": "Complete", "status": "True"}
        terminated = {"exitCode": 0, "message": json.dumps(message)}
        self.objects: dict[str, Any] = {
            batch("ml", "jobs", JOB): {"status": {"conditions": [done]}},
            core("ml", "configmaps", "fraud-baseline-v2"): {
                "data": {"baseline.json": sample_baseline(2).to_json()}
            },
        }
        self.pods = [{"status": {"containerStatuses": [{"state": {"terminated": terminated}}]}}]
        self.applied: list[dict[str, Any]] = []

    async def get(self, path: str) -> Any:
        return self.objects.get(path)

    async def list_items(self, path: str, selector: str) -> list[dict[str, Any]]:
        assert selector == f"batch.kubernetes.io/job-name={JOB}"
        return self.pods

    async def apply_config_map(self, body: dict[str, Any]) -> None:
        self.applied.append(body)


def gated_spec() -> ModelMonitorSpec:
    retraining = {**SPEC["retraining"], "promotion": {"minHeldOut": 20}}
    return make_spec(retraining=retraining)


def running_status() -> dict[str, Any]:
    serving = {
        "version": "1",
        "state": "Serving",
        "baseline": {"configMap": "fraud-baseline", "key": "baseline.json", "hash": "h1"},
    }
    return {
        "retraining": {
            "count": 1,
            "lastJob": JOB,
            "lastResult": "Running",
            "lastStartTime": "2026-12-07T12:59:00Z",
            "history": [serving],
        },
        "baseline": {"configMap": "fraud-baseline", "hash": "h1"},
        "performance": {"metric": "accuracy", "value": 0.6, "samples": 300},
    }


def context(api: Api) -> tuple[OperatorContext, CollectorRegistry]:
    """An operator context around the fake API ``api``, its metrics on a fresh registry."""
    registry = CollectorRegistry()
    ctx = OperatorContext(
        client=cast(KubeClient, api),
        http=cast(Any, None),
        sidecar=OPTIONS,
        metrics=make_metrics(registry),
        datasets=DatasetRegistry(),
        dataset_url="http://operator",
        clock=lambda: NOW,
    )
    return ctx, registry


def follow(message: dict[str, Any]) -> tuple[jobs.Progress, Api, CollectorRegistry]:
    api = Api(message)
    ctx, registry = context(api)
    progress = asyncio.run(jobs.follow(ctx, MONITOR, running_status(), gated_spec()))
    return progress, api, registry


def decisions(registry: CollectorRegistry, decision: str) -> float | None:
    labels = {"namespace": "ml", "monitor": "fraud", "decision": decision}
    return registry.get_sample_value("kubedrift_operator_promotion_decisions_total", labels)


BASELINE = {"configMap": "fraud-baseline-v2"}


def test_a_worse_candidate_is_rejected_and_nothing_is_adopted() -> None:
    message = {
        "modelVersion": "2",
        "baseline": BASELINE,
        "heldOut": {"serving": "1" * 30, "candidate": "1" * 10 + "0" * 20},
    }
    progress, api, registry = follow(message)
    assert progress.retraining is not None
    assert progress.retraining["lastResult"] == "Rejected"
    assert "modelVersion" not in progress.retraining
    assert progress.baseline == {"configMap": "fraud-baseline", "hash": "h1"}
    assert api.applied == []
    assert progress.retraining["gate"]["result"] == "NotBetter"
    assert [(e["version"], e["state"]) for e in progress.retraining["history"]] == [
        ("2", "Rejected"),
        ("1", "Serving"),
    ]
    assert progress.condition is not None and progress.condition[:2] == ("False", "Rejected")
    [event] = progress.events
    assert (event.type, event.reason) == ("Warning", "RetrainingRejected")
    assert event.message.startswith(
        f"Job {JOB}: model version 2 not promoted, version 1 keeps serving: candidate accuracy "
        "0.3333 vs serving 1.0000 on 30 held-out rows"
    )
    assert decisions(registry, "rejected") == 1


def test_too_few_held_out_rows_are_their_own_reason() -> None:
    message = {"modelVersion": "2", "heldOut": {"serving": "0" * 19, "candidate": "1" * 19}}
    progress, _, registry = follow(message)
    assert progress.condition is not None
    assert progress.condition[:2] == ("False", "NotEnoughHeldOutLabels")
    assert "19 held-out labeled rows, fewer than the 20 needed" in progress.condition[2]
    assert decisions(registry, "not_enough_held_out") == 1


def test_a_better_candidate_is_promoted_adopted_and_holds_its_predecessors_level() -> None:
    message = {
        "modelVersion": "2",
        "baseline": BASELINE,
        "heldOut": {"serving": "1" * 10 + "0" * 20, "candidate": "1" * 30},
    }
    progress, api, registry = follow(message)
    assert progress.retraining is not None
    assert (progress.retraining["lastResult"], progress.retraining["modelVersion"]) == (
        "Succeeded",
        "2",
    )
    assert [a["metadata"]["name"] for a in api.applied] == ["fraud-kubedrift-baseline"]
    assert progress.baseline is not None
    assert progress.baseline["configMap"] == "fraud-kubedrift-baseline"
    serving, replaced = progress.retraining["history"]
    assert (serving["version"], serving["state"], serving["levelToHold"]) == ("2", "Serving", 0.6)
    assert serving["baseline"] == {
        "configMap": "fraud-baseline-v2",
        "key": "baseline.json",
        "hash": progress.baseline["hash"],
    }
    assert (replaced["version"], replaced["state"]) == ("1", "Replaced")
    assert progress.events[0].reason == "RetrainingSucceeded"
    assert "promoted over version 1" in progress.events[0].message
    assert decisions(registry, "promoted") == 1


def test_a_gated_job_without_scores_fails() -> None:
    progress, api, _ = follow({"modelVersion": "2", "baseline": BASELINE})
    assert progress.retraining is not None
    assert progress.retraining["lastResult"] == "Failed"
    assert "no heldOut scores" in progress.events[0].message
    assert api.applied == []


def watched_status(predecessor_baseline: dict[str, str]) -> dict[str, Any]:
    """Version 3 promoted a minute ago over version 2 (level 0.9), and now clearly worse."""
    history = [
        {
            "version": "3",
            "state": "Serving",
            "promotedAt": "2026-12-07T12:59:00Z",
            "levelToHold": 0.9,
            "baseline": {"configMap": "fraud-baseline-v3", "key": "baseline.json"},
        },
        {"version": "2", "state": "Replaced", "baseline": predecessor_baseline},
    ]
    return {
        "retraining": {
            "count": 2,
            "lastResult": "Succeeded",
            "modelVersion": "3",
            "history": history,
        },
        "baseline": {"configMap": "fraud-kubedrift-baseline", "hash": "h3"},
        "performance": {"value": 0.5, "lowerBound": 0.45, "upperBound": 0.55, "samples": 200},
    }


def watch(status: dict[str, Any]) -> tuple[jobs.Progress | None, Api, CollectorRegistry]:
    api = Api({})
    ctx, registry = context(api)
    return asyncio.run(jobs.watch(ctx, MONITOR, gated_spec(), status)), api, registry


def test_a_rollback_to_a_jobs_baseline_copies_it_again_and_restores_the_version() -> None:
    progress, api, registry = watch(
        watched_status({"configMap": "fraud-baseline-v2", "key": "baseline.json"})
    )
    assert progress is not None and progress.retraining is not None
    assert progress.retraining["modelVersion"] == "2"
    assert [(e["version"], e["state"]) for e in progress.retraining["history"]] == [
        ("3", "RolledBack"),
        ("2", "Serving"),
    ]
    assert [a["metadata"]["annotations"] for a in api.applied] == [
        {"kubedrift.io/adopted-from": "fraud-baseline-v2/baseline.json"}
    ]
    assert progress.baseline is not None
    assert progress.baseline["configMap"] == "fraud-kubedrift-baseline"
    assert progress.condition is not None and progress.condition[:2] == ("False", "RolledBack")
    [event] = progress.events
    assert (event.type, event.reason) == ("Warning", "ModelRolledBack")
    assert event.message == (
        "model version 3 rolled back to 2 and its baseline fraud-baseline-v2/baseline.json: "
        "live accuracy [0.4500, 0.5500] on 200 labels is worse than the 0.9 version 2 held"
    )
    labels = {"namespace": "ml", "monitor": "fraud", "decision": "rolled_back"}
    assert registry.get_sample_value("kubedrift_operator_promotion_decisions_total", labels) == 1


def test_a_rollback_to_the_spec_baseline_points_status_back_at_it() -> None:
    progress, api, _ = watch(
        watched_status({"configMap": "fraud-baseline", "key": "baseline.json", "hash": "h1"})
    )
    assert progress is not None
    assert progress.baseline == {"configMap": "fraud-baseline", "hash": "h1"}
    assert api.applied == []


def test_a_rollback_whose_baseline_is_gone_warns_and_keeps_the_model() -> None:
    progress, api, _ = watch(watched_status({"configMap": "deleted", "key": "baseline.json"}))
    assert progress is not None and progress.retraining is not None
    assert progress.retraining["modelVersion"] == "3"
    assert progress.condition is None
    assert [(e.type, e.reason) for e in progress.events] == [("Warning", "RollbackFailed")]
    assert "deleted key baseline.json is missing" in progress.events[0].message
    assert api.applied == []


def test_the_live_metric_is_recorded_while_the_model_holds_its_level() -> None:
    status = watched_status({"configMap": "fraud-baseline", "key": "baseline.json"})
    status["performance"] = {"value": 0.92, "lowerBound": 0.88, "upperBound": 0.95, "samples": 200}
    progress, _, _ = watch(status)
    assert progress is not None and progress.retraining is not None
    assert progress.retraining["modelVersion"] == "3"
    assert progress.events == [] and progress.condition is None
    assert progress.retraining["history"][0]["metricValue"] == 0.92
