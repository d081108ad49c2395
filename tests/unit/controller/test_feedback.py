"""The operator's feedback endpoint: body validation, the per-id merge of the sidecars' answers,
and the fan-out itself against real sidecar admin servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import numpy as np
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from kubedrift.controller.feedback import FeedbackError, fan_out, merge_answers, parse_feedback
from kubedrift.controller.observation import Sidecar
from kubedrift.controller.operator_metrics import make_metrics
from kubedrift.sidecar.admin import Readiness, admin_app
from kubedrift.sidecar.label_store import LabelStore
from kubedrift.sidecar.monitor import Monitor
from kubedrift.sidecar.sampling import Sample
from kubedrift.sidecar.sidecar_metrics import make_metrics as make_sidecar_metrics
from kubedrift.sidecar.windows import PodIdentity, WindowKeeper
from kubedrift.stats.baseline import build_baseline
from kubedrift.stats.settings import WindowSettings
from kubedrift.wire import MAX_FEEDBACK_ITEMS


def answer(*rejected: tuple[str, str]) -> dict[str, Any]:
    """A sidecar's answer listing ``rejected`` (counts are not read by the merge)."""
    return {"rejected": [{"id": key, "outcome": outcome} for key, outcome in rejected]}


def counts(merged: dict[str, Any]) -> dict[str, int]:
    return {k: merged[k] for k in ("joined", "duplicate", "expired", "invalid", "unknown")}


# --- validation ---------------------------------------------------------------------------------


def test_one_label_object_is_a_list_of_one() -> None:
    assert parse_feedback(b'{"id": "a", "label": 1}') == [{"id": "a", "label": 1}]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "body is not JSON"),
        (b"42", 400, 'body must be {"id", "label"} or a list of them'),
        (b'"a"', 400, 'body must be {"id", "label"} or a list of them'),
        (
            json.dumps(
                [{"id": str(i), "label": 0} for i in range(MAX_FEEDBACK_ITEMS + 1)]
            ).encode(),
            413,
            f"at most {MAX_FEEDBACK_ITEMS} labels per call",
        ),
    ],
)
def test_malformed_body_is_refused_naming_what_is_wrong(
    body: bytes, status: int, message: str
) -> None:
    with pytest.raises(FeedbackError) as refused:
        parse_feedback(body)

    assert (refused.value.status, refused.value.message) == (status, message)


def test_exactly_the_sidecars_limit_of_labels_is_accepted() -> None:
    items = [{"id": str(i), "label": 0} for i in range(MAX_FEEDBACK_ITEMS)]

    assert len(parse_feedback(json.dumps(items).encode())) == MAX_FEEDBACK_ITEMS


# --- merge --------------------------------------------------------------------------------------


def test_label_joined_by_one_sidecar_is_joined_although_the_others_do_not_know_it() -> None:
    items = [{"id": "a", "label": 1}, {"id": "b", "label": 0}]
    first = answer(("b", "unknown"))  # served a
    second = answer(("a", "unknown"))  # served b

    merged = merge_answers(items, [first, second])

    assert counts(merged) == {"joined": 2, "duplicate": 0, "expired": 0, "invalid": 0, "unknown": 0}
    assert merged["rejected"] == []
    assert merged["reporting"] == 2


@pytest.mark.parametrize(
    ("outcomes", "merged_outcome"),
    [
        (("duplicate", "unknown", "expired"), "duplicate"),
        (("unknown", "expired", "invalid"), "expired"),
        (("unknown", "invalid"), "invalid"),
        (("unknown", "unknown"), "unknown"),
    ],
)
def test_unjoined_label_takes_the_best_outcome_any_sidecar_gave(
    outcomes: tuple[str, ...], merged_outcome: str
) -> None:
    merged = merge_answers([{"id": "a", "label": 1}], [answer(("a", o)) for o in outcomes])

    assert merged["rejected"] == [{"id": "a", "outcome": merged_outcome}]
    assert merged[merged_outcome] == 1
    assert merged["joined"] == 0


def test_id_sent_twice_is_joined_once_then_duplicate() -> None:
    items = [{"id": "a", "label": 1}, {"id": "a", "label": 1}, {"id": 7, "label": 0}]
    holder = answer(("a", "duplicate"), ("7", "unknown"))
    other = answer(("a", "unknown"), ("a", "unknown"), ("7", "expired"))

    merged = merge_answers(items, [holder, other])

    assert counts(merged) == {"joined": 1, "duplicate": 1, "expired": 1, "invalid": 0, "unknown": 0}
    assert merged["rejected"] == [
        {"id": "a", "outcome": "duplicate"},
        {"id": "7", "outcome": "expired"},
    ]


def test_items_without_id_or_label_are_invalid_without_any_sidecar() -> None:
    items = [{"label": 1}, {"id": True, "label": 1}, {"id": "a"}, "text", {"id": 1.5, "label": 0}]

    merged = merge_answers(items, [])

    assert merged["invalid"] == 5
    assert [r["id"] for r in merged["rejected"]] == ["None", "True", "a", "None", "1.5"]
    assert merged["reporting"] == 0


def test_sidecars_that_did_not_answer_are_not_reporting_and_change_nothing() -> None:
    items = [{"id": "a", "label": 1}]

    merged = merge_answers(items, [None, {"error": "boom"}, answer(), "garbage"])

    assert merged["reporting"] == 1
    assert merged["joined"] == 1


def test_merged_outcomes_are_counted_in_the_operator_metric() -> None:
    registry = CollectorRegistry()
    metrics = make_metrics(registry)

    metrics.record_labels("ml", "fraud", {"joined": 3, "unknown": 1, "expired": 0})

    def value(outcome: str) -> float | None:
        return registry.get_sample_value(
            "kubedrift_operator_labels_total",
            {"namespace": "ml", "monitor": "fraud", "outcome": outcome},
        )

    assert (value("joined"), value("unknown"), value("expired"), value("duplicate")) == (3, 1, 0, 0)


# --- fan-out to real sidecar admin servers --------------------------------------------------------


def sidecar_monitor(seed: int) -> Monitor:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=400)
    y = (x > 0).astype(int)
    baseline = build_baseline({"x": x, "p": y, "y": y}, prediction="p", label="y")
    windows = WindowKeeper(baseline, WindowSettings(max_age_seconds=1e9), now=0.0, seed=seed)
    return Monitor(
        baseline, windows, LabelStore(100, 1e9), make_sidecar_metrics(CollectorRegistry())
    )


def served(monitor: Monitor, request_id: str, value: float) -> None:
    """The sidecar saw one KServe v1 exchange under ``request_id``."""
    sample = Sample(
        path="/v1/models/m:predict",
        status=200,
        request_body=json.dumps({"instances": [[value]]}).encode(),
        response_body=json.dumps({"predictions": [int(value > 0)]}).encode(),
        x_request_id=request_id,
    )
    assert monitor.process([sample], now=1.0) == 1


def unknown_counted(monitor: Monitor) -> float | None:
    registry = monitor.metrics.registry
    return registry.get_sample_value("kubedrift_labels_total", {"outcome": "unknown"})


def test_fan_out_joins_every_label_once_across_replicas_and_no_replica_counts_unknown() -> None:
    replicas = [sidecar_monitor(seed) for seed in (1, 2)]
    for index in range(6):
        served(replicas[index % 2], f"r-{index}", value=index - 2.5)
    items = [{"id": f"r-{index}", "label": int(index > 2)} for index in range(6)]

    async def scenario() -> list[Any]:
        runners = []
        targets = []
        for number, monitor in enumerate(replicas):
            pod = PodIdentity(f"model-{number}", "ml", "127.0.0.1", 0.0)
            app = admin_app(
                monitor, monitor.metrics, pod, Readiness(), token="t0k", clock=lambda: 2.0
            )
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            runners.append(runner)
            port = runner.addresses[0][1]
            targets.append(Sidecar(f"model-{number}", f"http://127.0.0.1:{port}"))
        try:
            async with aiohttp.ClientSession() as session:
                return await fan_out(session, targets, items, "t0k", timeout=10.0)
        finally:
            for runner in runners:
                await runner.cleanup()

    answers = asyncio.run(scenario())
    merged = merge_answers(items, answers)

    assert [a["joined"] for a in answers] == [3, 3]
    assert [a["unknown"] for a in answers] == [3, 3]
    assert merged["joined"] == 6 and merged["rejected"] == [] and merged["reporting"] == 2
    assert [unknown_counted(m) for m in replicas] == [0, 0]
    assert [m.windows.current.labeled for m in replicas] == [3, 3]


def test_sidecar_that_refuses_the_token_does_not_report() -> None:
    async def scenario() -> list[Any]:
        monitor = sidecar_monitor(3)
        pod = PodIdentity("model-0", "ml", "127.0.0.1", 0.0)
        runner = web.AppRunner(admin_app(monitor, monitor.metrics, pod, Readiness(), token="x"))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        target = Sidecar("model-0", f"http://127.0.0.1:{runner.addresses[0][1]}")
        try:
            async with aiohttp.ClientSession() as session:
                return await fan_out(session, [target], [{"id": "a", "label": 1}], "y", 10.0)
        finally:
            await runner.cleanup()

    assert asyncio.run(scenario()) == [None]
