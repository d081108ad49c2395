"""The demo's data and model: seeded worlds, a logistic regression that learns each world's
rule, and the shift that makes the old model wrong."""

from __future__ import annotations

import numpy as np

from kubedrift_dev.demo.logistic_model import LogisticModel, train
from kubedrift_dev.demo.model_server import infer
from kubedrift_dev.demo.scenario import WORLDS


def test_the_same_seed_gives_the_same_rows() -> None:
    first, second = WORLDS["B"].sample(50, seed=3), WORLDS["B"].sample(50, seed=3)
    assert np.array_equal(first[0], second[0])
    assert np.array_equal(first[1], second[1])


def test_label_noise_flips_the_configured_share_of_labels() -> None:
    world = WORLDS["A"]
    x, y = world.sample(20000, seed=1)
    clean = (x @ np.asarray(world.weights) > world.bias).astype(np.int64)
    # 2% flipped; binomial standard error at n=20000 is 0.001, so +-0.004 is four of them.
    assert abs(np.mean(y != clean) - world.noise) < 0.004


def test_a_model_trained_on_a_world_is_accurate_there_and_wrong_after_the_shift() -> None:
    model = train(*WORLDS["A"].sample(4000, seed=7), version="1")
    assert model.accuracy(*WORLDS["A"].sample(4000, seed=8)) >= 0.95
    assert model.accuracy(*WORLDS["B"].sample(4000, seed=8)) < 0.6
    retrained = train(*WORLDS["B"].sample(200, seed=9), version="2")
    assert retrained.accuracy(*WORLDS["B"].sample(4000, seed=8)) >= 0.9
    assert retrained.accuracy(*WORLDS["C"].sample(4000, seed=8)) < 0.6


def test_a_model_survives_its_json_form() -> None:
    model = train(*WORLDS["C"].sample(300, seed=2), version="3")
    again = LogisticModel.from_json(model.to_json())
    assert again == model


def test_the_server_answers_oip_v2_with_the_label_output_first() -> None:
    model = LogisticModel("4", (1.0, 1.0), 0.0)
    request = {
        "id": "r1",
        "inputs": [
            {"name": "x1", "shape": [2], "datatype": "FP64", "data": [1.0, -1.0]},
            {"name": "x2", "shape": [2], "datatype": "FP64", "data": [0.5, -0.5]},
        ],
    }
    answer = infer(model, request)
    assert answer["id"] == "r1"
    assert answer["model_version"] == "4"
    assert answer["outputs"][0] == {
        "name": "label",
        "shape": [2],
        "datatype": "INT64",
        "data": [1, 0],
    }
    assert answer["outputs"][1]["name"] == "probability"
