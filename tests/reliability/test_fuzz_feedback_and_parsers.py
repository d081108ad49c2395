"""Fuzzing the label path and the parsers for what the forwarding tests cannot see: exceptions
escaping ``Monitor.feedback`` (the ``/v1/feedback`` handler calls it with any JSON a client
sends) and memory that grows with what a payload claims rather than with what it contains.

The parsers' "only ParseError" property and the forwarded-bytes property are fuzzed next to the
parsers (``tests/unit/payloads``) and the sidecar (``tests/unit/sidecar``).
"""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from kubedrift.payloads import PROTOCOLS, ParseError, ParseOptions, parse_exchange
from kubedrift.sidecar.label_store import LabelStore
from kubedrift.sidecar.monitor import Monitor
from kubedrift.sidecar.sampling import Sample
from kubedrift.sidecar.sidecar_metrics import make_metrics
from kubedrift.sidecar.windows import WindowKeeper
from kubedrift.stats.baseline import build_baseline
from kubedrift.stats.settings import WindowSettings

IDS = [f"id-{i}" for i in range(8)]
LABEL = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=10,
)
ITEM = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(IDS) | st.integers() | st.none() | st.booleans() | st.floats(),
        "label": LABEL,
        "extra": LABEL,
    },
)
DOCUMENT = st.lists(ITEM | LABEL, max_size=12) | ITEM | LABEL
#: Peak Python allocation allowed for parsing one small payload that claims to be huge: a
#: parser that allocated by the declared shape would need gigabytes.
CLAIM_BOUND_BYTES = 4 << 20


def monitor_with_predictions() -> Monitor:
    """A monitor whose label store holds ``IDS`` (two-row exchanges, predictions 0/1)."""
    rng = np.random.default_rng(5)
    values = rng.normal(size=(400, 2))
    labels = (values[:, 0] > 0).astype(int)
    baseline = build_baseline(
        {"a": values[:, 0], "b": values[:, 1], "p": labels, "y": labels},
        prediction="p",
        label="y",
    )
    windows = WindowKeeper(baseline, WindowSettings(max_age_seconds=1e9), now=0.0, seed=1)
    monitor = Monitor(baseline, windows, LabelStore(100, 60.0), make_metrics(CollectorRegistry()),
                      options=ParseOptions(("a", "b")))  # fmt: skip
    samples = [
        Sample(
            path="/v1/models/m:predict",
            status=200,
            request_body=json.dumps({"instances": [[0.5, 1.0], [-0.5, 2.0]]}).encode(),
            response_body=json.dumps({"predictions": [1, 0]}).encode(),
            x_request_id=request_id,
        )
        for request_id in IDS
    ]
    assert monitor.process(samples, now=1.0) == 2 * len(IDS)
    return monitor


@settings(max_examples=400, deadline=None, derandomize=True)
@given(document=DOCUMENT)
def test_feedback_answers_any_json_document_with_counts_never_an_exception(
    document: Any,
) -> None:
    monitor = monitor_with_predictions()
    items = document if isinstance(document, list) else [document]

    answer = monitor.feedback(items, now=2.0)

    counted = sum(answer[k] for k in ("joined", "unknown", "expired", "duplicate", "invalid"))
    assert counted == len(items)
    assert len(answer["rejected"]) == len(items) - answer["joined"]
    json.dumps(answer)  # the handler serialises it as it is


OIP_HUGE_SHAPE = {"inputs": [{"name": "x", "shape": [10**9, 10**9], "datatype": "FP64",
                              "data": [1.0]}]}  # fmt: skip
CLAIMS = [
    ("open-inference-v2", json.dumps(OIP_HUGE_SHAPE).encode(), None),
    ("open-inference-v2", b'{"inputs": [{"name": "x", "shape": [3], "datatype": "FP64", '
     b'"parameters": {"binary_data_size": 8000000000}}]}', "80"),
    ("seldon-v1", json.dumps({"data": {"tensor": {"shape": [10**9, 10**9], "values": [1]}}})
     .encode(), None),
    ("auto", b"[" * 200_000 + b"]" * 200_000, None),
    ("auto", b'{"instances": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", None),
]  # fmt: skip


@pytest.mark.parametrize(("protocol", "request_body", "header_length"), CLAIMS)
def test_a_payload_claiming_to_be_huge_is_rejected_without_allocating_its_claim(
    protocol: str, request_body: bytes, header_length: str | None
) -> None:
    assert protocol in (*PROTOCOLS, "auto")
    tracemalloc.start()
    try:
        with pytest.raises(ParseError):
            parse_exchange(protocol, request_body, b"{}", request_header_length=header_length)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < CLAIM_BOUND_BYTES + 2 * len(request_body)
