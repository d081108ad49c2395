"""``spec.drift.embeddings.minWidth``: the operator passes it to the sidecar, whose parsers keep
list rows without names (KServe v1 ``instances: [[...]]``) wider than it as one embedding block,
named after the baseline's block; changing it changes what the window judges as a block."""

from __future__ import annotations

import json

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from kubedrift.api.parsing import SpecError
from kubedrift.controller.sidecar_config import render_sidecar_config
from kubedrift.sidecar.config import ConfigError, config_from_mapping, parse_options
from kubedrift.sidecar.label_store import LabelStore
from kubedrift.sidecar.monitor import Monitor
from kubedrift.sidecar.sampling import Sample
from kubedrift.sidecar.sidecar_metrics import make_metrics
from kubedrift.sidecar.windows import WindowKeeper
from kubedrift.stats.baseline import Baseline, build_baseline
from kubedrift.stats.settings import WindowSettings
from support.controller_samples import SPEC, make_spec

WIDTH = 300


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    rng = np.random.default_rng(0)
    return build_baseline({"text": rng.normal(size=(400, WIDTH)), "age": rng.normal(size=400)})


def drift(min_width: int) -> dict[str, object]:
    return dict(SPEC.get("drift", {}), embeddings={"minWidth": min_width})


def test_min_width_reaches_the_sidecar_config_only_when_it_is_not_the_default() -> None:
    default = render_sidecar_config(make_spec())
    assert "embeddingWidth" not in default.get("payload", {})
    assert make_spec().drift.embeddings.min_width == 256
    rendered = render_sidecar_config(make_spec(drift=drift(512)))
    assert rendered["payload"]["embeddingWidth"] == 512
    assert config_from_mapping(rendered).parse.embedding_width == 512


@pytest.mark.parametrize("width", [0, -3])
def test_a_min_width_below_one_is_refused_naming_the_field(width: int) -> None:
    with pytest.raises(SpecError, match="minWidth"):
        make_spec(drift=drift(width))
    with pytest.raises(ConfigError, match=r"payload\.embeddingWidth"):
        config_from_mapping({"payload": {"embeddingWidth": width}})


def monitor_for(baseline: Baseline, min_width: int) -> Monitor:
    config = config_from_mapping(render_sidecar_config(make_spec(drift=drift(min_width))))
    names = tuple(b.name for b in baseline.embeddings)
    windows = WindowKeeper(baseline, WindowSettings(samples=1_000), now=0.0)
    return Monitor(
        baseline,
        windows,
        LabelStore(10, 60.0),
        make_metrics(CollectorRegistry()),
        protocol="kserve-v1",
        options=parse_options(config, baseline.classes, names),
    )


def kserve_v1(rows: int, seed: int) -> Sample:
    vectors = np.random.default_rng(seed).normal(size=(rows, WIDTH)).round(3).tolist()
    return Sample(
        path="/v1/models/m:predict",
        status=200,
        request_body=json.dumps({"instances": vectors}).encode(),
        response_body=json.dumps({"predictions": [0] * rows}).encode(),
    )


def test_changing_min_width_changes_whether_unnamed_wide_rows_are_the_block(
    baseline: Baseline,
) -> None:
    (block,) = baseline.embeddings
    norm = list(baseline.feature_names + tuple(p.name for p in baseline.derived)).index(
        f"embedding/{block.name}/norm"
    )
    # Below the rows' width: each row is the baseline's block "text", judged through it.
    below = monitor_for(baseline, 256)
    assert below.process([kserve_v1(20, seed=1)], now=1.0) == 20
    window = below.windows.current
    assert window.missing[norm] == 0
    assert window.unknown_rows == 0
    # Above it: the same rows are 300 positional columns the baseline does not know; the block
    # is missing in every row.
    above = monitor_for(baseline, 512)
    assert above.process([kserve_v1(20, seed=1)], now=1.0) == 20
    window = above.windows.current
    assert window.missing[norm] == 20
    assert window.unknown_rows == 20
    assert window.unknown_names[:2] == ("0", "1")
