"""The demo's model server from the demo image (``dev/Dockerfile``: the project image plus
``kubedrift_dev``), as ``make demo NODE=real`` runs it: the demo's own Deployment manifest, made to
pass the ``restricted`` profile (non-root, read-only root filesystem, no capabilities), serves the
demo's model v1 over the Open Inference Protocol and answers what the same model answers here;
the retraining Job's module is in the image as well.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from kubedrift_dev.demo import manifests
from kubedrift_dev.demo.deploy import train_on_a
from kubedrift_dev.demo.model_server import infer
from support.real_node import IMAGE_USER, RESTRICTED, RealCluster

pytestmark = [pytest.mark.integration, pytest.mark.realnode]

REQUEST = {
    "id": "r1",
    "inputs": [
        {"name": "x1", "shape": [3], "datatype": "FP64", "data": [-1.5, 0.25, 2.0]},
        {"name": "x2", "shape": [3], "datatype": "FP64", "data": [0.5, -0.75, 1.0]},
    ],
}


def restricted(deployment: dict[str, Any]) -> dict[str, Any]:
    pod = deployment["spec"]["template"]["spec"]
    pod["securityContext"] = {"runAsUser": IMAGE_USER, "runAsGroup": IMAGE_USER}
    for container in pod["containers"]:
        container["securityContext"] = RESTRICTED
    return deployment


def test_the_demo_model_server_runs_from_the_demo_image_and_answers_as_the_model(
    real: RealCluster, restricted_namespace: str
) -> None:
    assert real.demo_image and real.demo_image != real.image
    model, _ = train_on_a()
    real.apply(manifests.model_configmap(model.to_json()), restricted_namespace)
    settings = manifests.DemoSettings(image=real.demo_image)
    real.apply(restricted(manifests.model_deployment(settings)), restricted_namespace)
    pod = real.wait_ready_pod(restricted_namespace, f"app={manifests.MODEL}")
    (container,) = pod["spec"]["containers"]
    assert container["image"] == real.demo_image

    url = f"http://{pod['status']['podIP']}:{manifests.MODEL_PORT}/v2/models/demo/infer"
    request = urllib.request.Request(
        url, data=json.dumps(REQUEST).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        served = json.load(answer)
    assert served == json.loads(json.dumps(infer(model, REQUEST)))

    name = pod["metadata"]["name"]
    where = ["exec", "-n", restricted_namespace, name, "--"]
    assert real.kubectl(*where, "id", "-u").strip() == str(IMAGE_USER)
    # the retraining Job's entry point imports in the same image (it needs the Job's env to run)
    script = "import kubedrift_dev.demo.retrain as r; print(r.__file__)"
    imported = real.kubectl(*where, "python", "-c", script)
    assert imported.strip() == "/opt/kubedrift-dev/kubedrift_dev/demo/retrain.py"
