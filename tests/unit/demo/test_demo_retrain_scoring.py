"""The demo Job's side of the promotion gate: a time split of dataset B and both models'
per-row correctness on the held-out rows; the gate's verdict as a row of the demo's table."""

from __future__ import annotations

from typing import Any

import numpy as np

from kubedrift.stats.paired_comparison import compare_paired
from kubedrift_dev.demo.logistic_model import train
from kubedrift_dev.demo.loop import gate_row
from kubedrift_dev.demo.retrain import held_out_scores, split_by_time
from kubedrift_dev.demo.scenario import FEATURES, WORLDS


def dataset(world: str, rows: int, seed: int, start: float) -> list[dict[str, Any]]:
    """Rows as the operator serves them, with an old model's predictions (all 1)."""
    x, y = WORLDS[world].sample(rows, seed=seed)
    return [
        {
            "features": dict(zip(FEATURES, map(float, x[i]), strict=True)),
            "prediction": 1,
            "label": int(y[i]),
            "time": start + i,
        }
        for i in range(rows)
    ]


def test_the_latest_third_is_held_out() -> None:
    rows = dataset("B", 30, seed=1, start=100.0)
    train_rows, held = split_by_time(list(reversed(rows)))
    assert [r["time"] for r in train_rows] == [100.0 + i for i in range(20)]
    assert [r["time"] for r in held] == [120.0 + i for i in range(10)]


def test_a_model_retrained_on_the_shift_beats_the_old_one_on_the_held_out_rows() -> None:
    train_rows, held = split_by_time(dataset("B", 300, seed=2, start=0.0))
    x = [[r["features"][f] for f in FEATURES] for r in train_rows]
    y = [r["label"] for r in train_rows]
    model = train(np.array(x), np.array(y), version="2")
    scores = held_out_scores(model, held)
    assert len(scores["serving"]) == len(scores["candidate"]) == 100
    serving = [c == "1" for c in scores["serving"]]
    assert serving == [r["label"] == 1 for r in held]
    decision = compare_paired(
        serving,
        [c == "1" for c in scores["candidate"]],
        margin=0.0,
        confidence=0.95,
        min_held_out=30,
    )
    assert decision.promote


def test_the_gate_row_shows_the_verdict_and_both_accuracies() -> None:
    row = gate_row(
        {
            "result": "Promoted",
            "heldOut": 67,
            "servingAccuracy": 0.5,
            "candidateAccuracy": 0.95,
            "pValue": 2.0**-30,
        },
        "2",
    )
    assert (row.action, row.data, row.accuracy, row.next) == (
        "promotion gate: Promoted (p=9.3e-10)",
        "67 held-out rows (latest)",
        "0.500 -> 0.950",
        "roll out model v2",
    )
    few = gate_row({"result": "NotEnoughHeldOutLabels", "heldOut": 12})
    assert (few.action, few.accuracy, few.next) == (
        "promotion gate: NotEnoughHeldOutLabels",
        "",
        "keep the serving model",
    )
