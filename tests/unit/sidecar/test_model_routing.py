"""Counting sampled exchanges by model, with a bounded label set, and routing one model's."""

from __future__ import annotations

from kubedrift.sidecar.mirror import path_from_response
from kubedrift.sidecar.models import ModelRouting


def test_only_the_monitored_models_exchanges_are_routed_to_the_window() -> None:
    routing = ModelRouting("iris")
    routed = [
        routing.route(path)
        for path in (
            "/v2/models/iris/infer",
            "/v2/models/wine/infer",
            "/v1/models/iris:predict",
            "/invocations",
        )
    ]
    assert routed == [True, False, True, False]
    assert routing.take_counts() == {
        ("iris", "true"): 2,
        ("wine", "false"): 1,
        ("none", "false"): 1,
    }
    assert routing.take_counts() == {}


def test_without_a_model_every_exchange_is_routed_and_still_counted_by_model() -> None:
    routing = ModelRouting(None)
    assert routing.route("/v2/models/iris/infer")
    assert routing.route("/invocations")
    assert routing.take_counts() == {("iris", "true"): 1, ("none", "true"): 1}


def test_model_names_beyond_the_cap_are_counted_as_other() -> None:
    routing = ModelRouting("m0", max_labels=2)
    for index in range(5):
        routing.route(f"/v2/models/m{index}/infer")
    routing.route("/v2/models/m0/infer")  # the monitored model keeps its label
    routing.route("/v2/models/m1/infer")  # a name seen before the cap keeps its label
    assert routing.take_counts() == {
        ("m0", "true"): 2,
        ("m1", "false"): 2,
        ("m2", "false"): 1,
        ("other", "false"): 2,
    }


def test_a_path_pattern_labels_its_exchanges_with_the_pattern() -> None:
    routing = ModelRouting("/score/*")
    assert routing.route("/score/fraud")
    assert not routing.route("/health/x")
    assert routing.take_counts() == {("/score/*", "true"): 1, ("none", "false"): 1}


def test_a_cloudevent_is_routed_by_the_model_its_oip_response_names_in_a_shared_collector() -> None:
    """KServe's logger CloudEvents carry no path; a shared collector reads the OIP response's
    ``model_name``. A KServe v1 response names no model: nobody's window in a shared collector,
    the one model's in a collector of one."""
    shared = ModelRouting("iris", others=("wine",))
    wine = path_from_response(b'{"model_name": "wine", "id": "1", "outputs": []}')
    v1 = path_from_response(b'{"predictions": [0, 1]}')
    assert shared.pick(wine) == 1
    assert shared.pick(v1) is None
    assert ModelRouting("iris").pick(v1) == 0
    assert shared.take_counts() == {("wine", "true"): 1, ("none", "false"): 1}
