"""A tiny retraining Job for the operator's integration tests.

It fetches dataset B from the operator (``KUBEDRIFT_DATASET_URL`` with the bearer token
``KUBEDRIFT_DATASET_TOKEN``, retrying while the operator restarts), fails unless it got labeled
rows, optionally waits ``HOLD_SECONDS`` (so a test can act while it runs), and reports the
result contract in its termination message: the new model version (``NEW_VERSION``) and the
ConfigMap with the new baseline (``NEW_BASELINE``). Standard library only.

With ``SCORE`` set it follows the promotion gate's scoring contract: rows sorted by ``time``,
the earlier two thirds train the candidate (a 1-nearest-neighbour classifier on ``x``;
``SCORE=shuffled`` trains it on labels shuffled with a fixed seed, a deliberately broken Job), the
later third is held out, and the termination message carries ``heldOut``: the serving model's
correctness (its recorded ``prediction``) and the candidate's, row by row.
"""

from __future__ import annotations

import bisect
import json
import os
import random
import sys
import time
import urllib.request
from collections.abc import Callable

request = urllib.request.Request(
    os.environ["KUBEDRIFT_DATASET_URL"],
    headers={"Authorization": f"Bearer {os.environ['KUBEDRIFT_DATASET_TOKEN']}"},
)


def fetch() -> dict[str, object]:
    """The dataset; retried for a minute, since the operator may be restarting."""
    for _ in range(60):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                document: dict[str, object] = json.load(response)
                return document
        except OSError as error:
            print(f"dataset not reachable yet: {error}", flush=True)
            time.sleep(1)
    sys.exit("dataset B never became reachable")


dataset = fetch()
print(f"reason={os.environ['KUBEDRIFT_REASON']} rows={dataset['count']}", flush=True)
if dataset["count"] == 0 or "label" not in dataset["rows"][0]:
    sys.exit("no labeled rows in dataset B")
time.sleep(float(os.environ.get("HOLD_SECONDS", "0")))
result: dict[str, object] = {
    "modelVersion": os.environ["NEW_VERSION"],
    "baseline": {"configMap": os.environ["NEW_BASELINE"], "key": "baseline.json"},
}


def nearest_neighbour(train: list[dict[str, float]]) -> Callable[[float], int]:
    """A 1-nearest-neighbour classifier on ``x``: right about as often as its training labels
    allow (almost always on true labels, a coin on shuffled ones)."""
    ordered = sorted(train, key=lambda row: row["x"])
    xs = [row["x"] for row in ordered]

    def predict(x: float) -> int:
        i = bisect.bisect_left(xs, x)
        near = min((j for j in (i - 1, i) if 0 <= j < len(xs)), key=lambda j: abs(xs[j] - x))
        return int(ordered[near]["label"])

    return predict


if os.environ.get("SCORE"):
    ordered = sorted(dataset["rows"], key=lambda row: row["time"])  # type: ignore[call-overload]
    cut = len(ordered) * 2 // 3
    train = [{"x": r["features"]["x"], "label": int(r["label"])} for r in ordered[:cut]]
    if os.environ["SCORE"] == "shuffled":
        labels = [row["label"] for row in train]
        random.Random(11).shuffle(labels)
        train = [{**row, "label": label} for row, label in zip(train, labels, strict=True)]
    candidate = nearest_neighbour(train)
    held_out = ordered[cut:]
    result["heldOut"] = {
        "serving": "".join(str(int(r["prediction"] == r["label"])) for r in held_out),
        "candidate": "".join(
            str(int(candidate(r["features"]["x"]) == r["label"])) for r in held_out
        ),
    }
    print(f"trained={len(train)} held_out={len(held_out)}", flush=True)
with open("/dev/termination-log", "w") as log:
    json.dump(result, log)
