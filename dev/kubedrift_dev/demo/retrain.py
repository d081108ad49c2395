"""The demo's retraining Job: ``python -m kubedrift_dev.demo.retrain``.

It follows the operator's retraining Job contract (docs/operator.md): it fetches dataset B
(``GET $KUBEDRIFT_DATASET_URL`` with the bearer ``$KUBEDRIFT_DATASET_TOKEN``), trains a new
logistic regression on the labeled rows, stores it as key ``model-<version>.json`` of the model
ConfigMap (``$MODEL_CONFIGMAP``, which the model Deployment mounts), writes the baseline of the
new training data (features, the new model's predictions, labels) to ConfigMap
``$BASELINE_PREFIX-v<version>``, and reports ``{"modelVersion", "baseline", "heldOut"}`` in
``/dev/termination-log``. For the promotion gate it trains only on the earlier rows (by
``time``) and holds out the latest third (at most ``MAX_HELD_OUT`` rows): ``heldOut`` is the
serving model's correctness on them (its recorded ``prediction``) and the new model's. The new
version is ``$KUBEDRIFT_RETRAINING_NUMBER + 1``. It runs as a
ServiceAccount allowed to create and patch ConfigMaps in its namespace.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

import numpy as np

from kubedrift.stats.baseline import build_baseline
from kubedrift_dev.demo.logistic_model import LogisticModel, train
from kubedrift_dev.demo.scenario import FEATURES

#: Fewest labeled rows worth training on.
MIN_ROWS = 50
#: Share of the labeled rows, the latest, held out to score both models for the gate.
HELD_OUT_SHARE = 1 / 3
#: Most held-out rows: two strings of this length fit the 4 KiB termination message.
MAX_HELD_OUT = 1500
FETCH_ATTEMPTS = 30
TERMINATION_LOG = "/dev/termination-log"


def fetch_dataset(url: str, token: str) -> dict[str, Any]:
    """Dataset B; retried while the operator is not serving the monitor yet (404, refused)."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    for attempt in range(FETCH_ATTEMPTS):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer: dict[str, Any] = json.load(response)
                return answer
        except (urllib.error.HTTPError, urllib.error.URLError) as error:
            if isinstance(error, urllib.error.HTTPError) and error.code != 404:
                raise
            print(f"dataset not available yet ({error}); attempt {attempt + 1}", flush=True)
            time.sleep(1.0)
    raise SystemExit(f"dataset B could not be fetched from {url}")


def labeled_arrays(rows: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Feature matrix and 0/1 labels of the rows that carry every feature and a label."""
    usable = [
        r
        for r in rows
        if r.get("label") is not None and all(r["features"].get(f) is not None for f in FEATURES)
    ]
    x = np.array([[float(r["features"][f]) for f in FEATURES] for r in usable], dtype=np.float64)
    y = np.array([int(float(r["label"])) for r in usable], dtype=np.int64)
    return x.reshape(len(usable), len(FEATURES)), y


def split_by_time(
    rows: Sequence[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(training rows, held-out rows): the rows sorted by the time their label was joined, the
    latest ``HELD_OUT_SHARE`` (at most ``MAX_HELD_OUT``) held out."""
    ordered = sorted(rows, key=lambda row: float(row.get("time") or 0.0))
    held = min(int(len(ordered) * HELD_OUT_SHARE), MAX_HELD_OUT)
    cut = len(ordered) - held
    return ordered[:cut], ordered[cut:]


def held_out_scores(model: LogisticModel, rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Both models' per-row correctness on the held-out rows (``1`` right, ``0`` wrong)."""
    usable = [
        r
        for r in rows
        if r.get("label") is not None
        and r.get("prediction") is not None
        and all(r["features"].get(f) is not None for f in FEATURES)
    ]
    x, y = labeled_arrays(usable)
    serving = [int(float(r["prediction"])) == label for r, label in zip(usable, y, strict=True)]
    candidate = (model.predict(x) == y).tolist() if len(y) else []
    return {
        "serving": "".join("1" if right else "0" for right in serving),
        "candidate": "".join("1" if right else "0" for right in candidate),
    }


def store(namespace: str, model: LogisticModel, baseline_name: str, baseline: str) -> None:
    """Add the model to the model ConfigMap and write the baseline ConfigMap (create or replace)."""
    from kubernetes import client, config  # noqa: PLC0415

    config.load_incluster_config()  # type: ignore[no-untyped-call]
    core = client.CoreV1Api()
    core.patch_namespaced_config_map(
        os.environ["MODEL_CONFIGMAP"],
        namespace,
        {"data": {f"model-{model.version}.json": model.to_json()}},
    )
    labels = {"app.kubernetes.io/part-of": "kubedrift-demo"}
    body: Any = {
        "metadata": {"name": baseline_name, "labels": labels},
        "data": {"baseline.json": baseline},
    }
    try:
        core.create_namespaced_config_map(namespace, body)
    except client.ApiException as error:
        if error.status != 409:
            raise
        core.replace_namespaced_config_map(baseline_name, namespace, body)


def main() -> int:
    namespace = os.environ["KUBEDRIFT_NAMESPACE"]
    dataset = fetch_dataset(
        os.environ["KUBEDRIFT_DATASET_URL"], os.environ["KUBEDRIFT_DATASET_TOKEN"]
    )
    training_rows, held_rows = split_by_time(dataset["rows"])
    x, y = labeled_arrays(training_rows)
    print(
        f"reason={os.environ.get('KUBEDRIFT_REASON')} rows={dataset['count']} "
        f"training={len(y)} held_out={len(held_rows)} "
        f"replacing version {os.environ.get('KUBEDRIFT_MODEL_VERSION')}",
        flush=True,
    )
    if len(y) < MIN_ROWS:
        print(f"only {len(y)} labeled rows in dataset B; need {MIN_ROWS}", file=sys.stderr)
        return 1
    version = str(int(os.environ["KUBEDRIFT_RETRAINING_NUMBER"]) + 1)
    model = train(x, y, version)
    predictions = model.predict(x)
    print(f"model version {version}: accuracy on its training rows {model.accuracy(x, y):.3f}",
          flush=True)  # fmt: skip
    scores = held_out_scores(model, held_rows)
    columns = {name: x[:, i] for i, name in enumerate(FEATURES)}
    baseline = build_baseline(
        {**columns, "prediction": predictions.astype(np.float64), "label": y.astype(np.float64)},
        prediction="prediction",
        label="label",
    )
    baseline_name = f"{os.environ['BASELINE_PREFIX']}-v{version}"
    store(namespace, model, baseline_name, baseline.to_json())
    result = {
        "modelVersion": version,
        "baseline": {"configMap": baseline_name, "key": "baseline.json"},
        "heldOut": scores,
    }
    with open(TERMINATION_LOG, "w") as log:
        json.dump(result, log)
    print(f"stored model-{version}.json and baseline {baseline_name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
