"""Which model an exchange is for: the name in its OIP or KServe v1 path, or a path pattern."""

from __future__ import annotations

import pytest

from kubedrift.payloads.routes import ModelSelector, model_in_path


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/v2/models/iris/infer", "iris"),
        ("/v2/models/iris/versions/3/infer", "iris"),
        ("/v2/models/iris/infer?trace=1", "iris"),
        ("/v2/models/my%20model/infer", "my model"),
        ("/v1/models/iris:predict", "iris"),
        ("/v1/models/iris:explain", "iris"),
        ("/v2/models/iris/ready", None),
        ("/v2/models/iris", None),
        ("/v1/models/iris", None),
        ("/invocations", None),
        ("/api/v1.0/predictions", None),
        ("", None),
    ],
)
def test_model_in_path_reads_the_oip_and_kserve_v1_model_name(path: str, model: str | None) -> None:
    assert model_in_path(path) == model


def test_a_name_selects_that_models_exchanges_only() -> None:
    selector = ModelSelector("iris")
    assert selector.admits("/v2/models/iris/infer")
    assert selector.admits("/v2/models/iris/versions/1/infer")
    assert selector.admits("/v1/models/iris:predict")
    assert not selector.admits("/v2/models/iris-v2/infer")
    assert not selector.admits("/v2/models/wine/infer")
    assert not selector.admits("/invocations")  # names no model: not this one's


def test_a_path_pattern_selects_by_path_without_the_query() -> None:
    selector = ModelSelector("/score/fraud*")
    assert selector.admits("/score/fraud")
    assert selector.admits("/score/fraud-v2?debug=1")
    assert not selector.admits("/score/churn")
    assert not selector.admits("/v2/models/fraud/infer")


def test_a_mirrored_exchange_without_its_path_is_admitted() -> None:
    # KServe logger CloudEvents do not carry the model server's path; a collector is set up for
    # one model.
    assert ModelSelector("iris").admits("")
    assert ModelSelector("/score/*").admits("")
