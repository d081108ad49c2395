"""Hypothesis-generated malformed payloads never change what the client gets back."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.sidecar_model_server import ModelServer
from support.sidecar_process import Sidecar, http_request, raw_exchange

KEYS = st.sampled_from(
    ["inputs", "outputs", "name", "shape", "data", "datatype", "instances", "id", "ndarray", "meta",
     "puid", "dataframe_split", "columns", "parameters"]
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(KEYS | st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=20,
)
BODIES = JSON.map(lambda d: json.dumps(d).encode()) | st.binary(max_size=64)
PATHS = st.sampled_from(
    ["/v2/models/m/infer", "/v1/models/m:predict", "/api/v1.0/predictions", "/invocations", "/echo"]
)


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(path=PATHS, body=BODIES)
def test_any_payload_is_forwarded_exactly_as_the_model_answers_it(
    sidecar: Sidecar, model: ModelServer, path: str, body: bytes
) -> None:
    request = http_request(
        "POST", path, body, [("X-Request-ID", "fuzz"), ("Content-Type", "application/json")]
    )

    assert raw_exchange(sidecar.port, request) == raw_exchange(model.port, request)


def test_the_fuzzed_sidecar_is_healthy_and_its_parsers_never_crashed(
    sidecar: Sidecar, model: Any
) -> None:
    del model
    sidecar.wait_processed()

    metrics = sidecar.metrics()

    assert sidecar.get("/healthz")[0] == 200
    assert metrics[("kubedrift_unparsable_total", (("reason", "internal"),))] == 0
    assert not [key for key in metrics if key[0] == "kubedrift_monitor_errors_total"]
