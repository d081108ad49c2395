"""Setting the demo up: train model version 1 on generated dataset A, build its baseline with
``kubedrift baseline build`` / ``configmap`` (the CLI a user would run), install the CRD, and
create the model ConfigMap, the Deployment, the retraining RBAC and the ModelMonitor.
"""

from __future__ import annotations

import csv
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from kubedrift_dev.demo import manifests
from kubedrift_dev.demo.cluster_client import DemoCluster
from kubedrift_dev.demo.logistic_model import LogisticModel, train
from kubedrift_dev.demo.operator_process import KUBEDRIFT
from kubedrift_dev.demo.scenario import FEATURES, TRAINING_ROWS, TRAINING_SEED, WORLDS


def train_on_a() -> tuple[LogisticModel, float]:
    """Model version 1 and its accuracy on a fresh sample of A."""
    x, y = WORLDS["A"].sample(TRAINING_ROWS, TRAINING_SEED)
    model = train(x, y, "1")
    return model, model.accuracy(*WORLDS["A"].sample(TRAINING_ROWS, TRAINING_SEED + 1))


def write_training_csv(model: LogisticModel, path: Path) -> None:
    """Dataset A with the model's predictions and the labels, as ``kubedrift baseline`` reads."""
    x, y = WORLDS["A"].sample(TRAINING_ROWS, TRAINING_SEED)
    predictions = model.predict(x)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*FEATURES, "prediction", "label"])
        for row, predicted, label in zip(x.tolist(), predictions, y, strict=True):
            writer.writerow([*(f"{v:.6f}" for v in row), int(predicted), int(label)])


def baseline_configmap(
    model: LogisticModel, work_dir: Path, say: Callable[[str], None]
) -> dict[str, Any]:
    """The baseline ConfigMap, built by the ``kubedrift baseline`` CLI from dataset A."""
    data = work_dir / "dataset-a.csv"
    baseline = work_dir / "baseline.json"
    write_training_csv(model, data)
    build = [
        KUBEDRIFT,
        "baseline",
        "build",
        "--data",
        str(data),
        "--prediction",
        "prediction",
        "--label",
        "label",
        "--seed",
        "1",
        "-o",
        str(baseline),
    ]
    say(f"$ kubedrift baseline build --data {data.name} --prediction prediction --label label")
    subprocess.run(build, check=True, capture_output=True)
    configmap = [
        KUBEDRIFT,
        "baseline",
        "configmap",
        "--baseline",
        str(baseline),
        "--name",
        manifests.BASELINE,
    ]
    say(f"$ kubedrift baseline configmap --baseline baseline.json --name {manifests.BASELINE}")
    printed = subprocess.run(configmap, check=True, capture_output=True, text=True).stdout
    body: dict[str, Any] = yaml.safe_load(printed)
    body.get("metadata", {}).pop("namespace", None)
    return body


def install_crd(api_client: Any, timeout: float = 60.0) -> None:
    """Apply the ModelMonitor CRD (server-side apply) and wait until it is served."""
    from kubernetes import client  # noqa: PLC0415

    from kubedrift.api import crd  # noqa: PLC0415

    extensions = client.ApiextensionsV1Api(api_client)
    extensions.patch_custom_resource_definition(
        crd.NAME,
        crd.crd(),
        field_manager="kubedrift-demo",
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    custom = client.CustomObjectsApi(api_client)
    deadline = time.monotonic() + timeout
    while True:
        try:
            custom.list_cluster_custom_object(crd.GROUP, crd.VERSION, crd.PLURAL, limit=1)
            return
        except client.ApiException as error:
            if error.status != 404 or time.monotonic() > deadline:
                raise
        time.sleep(0.3)


def deploy(
    cluster: DemoCluster,
    settings: manifests.DemoSettings,
    work_dir: Path,
    say: Callable[[str], None],
) -> float:
    """Create everything in the demo's namespace; answer model v1's accuracy on dataset A."""
    model, accuracy = train_on_a()
    say(
        f"trained model v1 (logistic regression, numpy) on dataset A: {TRAINING_ROWS} rows, "
        f"accuracy {accuracy:.3f} on a fresh sample of A"
    )
    work_dir.mkdir(parents=True, exist_ok=True)
    cluster.create(baseline_configmap(model, work_dir, say))
    cluster.create(manifests.model_configmap(model.to_json()))
    for body in manifests.trainer_rbac():
        cluster.create(body)
    cluster.create(manifests.model_deployment(settings))
    cluster.create(manifests.model_monitor(settings))
    say(
        f"deployed Deployment/{manifests.MODEL} (OIP v2 model server), "
        f"ModelMonitor/{manifests.MONITOR} (retraining Job template: kubedrift_dev.demo.retrain)"
    )
    return accuracy
