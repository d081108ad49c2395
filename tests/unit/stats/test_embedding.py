"""Embedding blocks: a wide input judged through its principal components, norm and
reconstruction error, a few columns sharing the engine's budget instead of hundreds of tests.

The stream: 768-wide vectors ``A z + 0.3 e`` (four latent factors of standard deviations about
18, 12, 9 and 6, isotropic noise). Two changes: a mean shift of 1.5 along a direction the factors
do not span (a low-variance direction; 0.05 per coordinate) and a shift of 9 (half a standard
deviation) along the first principal direction.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from kubedrift.stats.baseline import Baseline, BaselineError, build_baseline
from kubedrift.stats.baseline_size import MAX_BASELINE_BYTES
from kubedrift.stats.embedding import (
    MIN_ROWS,
    blocks_of,
    column_names,
    fit_embedding,
)
from kubedrift.stats.engine import Contract, Decision, Engine
from kubedrift.stats.segments import segment_baseline, split_rows
from kubedrift.stats.settings import DriftSettings, EvaluationSettings
from kubedrift.stats.window import Window
from support.engine_stream import step_stream

DAY = 86400.0
WIDTH = 768
Matrix = npt.NDArray[np.float64]


class Embeddings:
    """A seeded model of an embedding: latent factors plus noise, and two unit directions."""

    def __init__(self, width: int = WIDTH) -> None:
        rng = np.random.default_rng(7)
        self.factors = rng.normal(size=(width, 4)) * np.array([3, 2, 1.5, 1.0]) * 6 / width**0.5
        basis, _ = np.linalg.qr(np.column_stack([self.factors, rng.normal(size=width)]))
        self.principal = basis[:, 0]
        self.low = basis[:, 4]  # orthogonal to every factor

    def draw(self, rng: np.random.Generator, n: int, shift: Matrix | float = 0.0) -> Matrix:
        width = self.factors.shape[0]
        rows: Matrix = rng.normal(size=(n, 4)) @ self.factors.T
        return rows + 0.3 * rng.normal(size=(n, width)) + shift


MODEL = Embeddings()


def reference() -> Baseline:
    return build_baseline(
        {"text": MODEL.draw(np.random.default_rng(0), 4000), "age": np.arange(4000.0)}
    )


def run(
    baseline: Baseline, shift: Matrix | float, change_at: int | None, steps: int
) -> list[Decision]:
    """50 rows every 30 s, moved by ``shift`` from step ``change_at`` on."""

    def rows(rng: np.random.Generator, step: int) -> dict[str, Matrix]:
        changed = change_at is not None and step >= change_at
        return {"text": MODEL.draw(rng, 50, shift if changed else 0.0)}

    return step_stream(baseline, EvaluationSettings(), rows, steps)


def test_a_wide_block_becomes_k_components_a_norm_and_a_reconstruction_error() -> None:
    baseline = reference()
    assert baseline.feature_names == ("age",)  # not 768 features
    (block,) = baseline.embeddings
    assert (block.name, block.width, block.components.shape) == ("text", WIDTH, (8, WIDTH))
    assert block.columns == column_names("text", 8)
    assert block.columns[-2:] == ("embedding/text/norm", "embedding/text/reconstruction-error")
    assert [sum(p.counts) for p in block.profiles] == [2000] * 10  # the held-out half
    # the four factors hold most of the variance; the components are orthonormal
    assert block.explained > 0.6
    gram = block.components @ block.components.T
    assert gram == pytest.approx(np.eye(8), abs=1e-5)
    assert abs(float(block.components[0] @ MODEL.principal)) > 0.99
    assert baseline.multivariate is None  # one numeric feature left: no multivariate fit


def test_the_block_round_trips_through_json_well_under_the_configmap_limit() -> None:
    baseline = reference()
    text = baseline.to_json()
    assert len(text) < MAX_BASELINE_BYTES / 5
    again = Baseline.from_json(text)
    assert again == baseline
    rows = MODEL.draw(np.random.default_rng(3), 5)
    np.testing.assert_array_equal(
        again.embeddings[0].values(rows, 5), baseline.embeddings[0].values(rows, 5)
    )
    data = baseline.to_dict()
    data["embeddings"][0]["mean"] = "AAAAAAAAAAA="  # two float32 values, not 768
    with pytest.raises(BaselineError, match="embedding 'text'"):
        Baseline.from_dict(data)


def test_tensor_columns_wider_than_the_width_or_named_are_blocks_others_stay_features() -> None:
    rng = np.random.default_rng(0)
    columns = {f"img-{j}": rng.normal(size=300) for j in range(40)}
    columns |= {f"x-{j}": rng.normal(size=300) for j in range(3)}
    assert list(blocks_of(columns, min_width=32)) == ["img"]
    assert list(blocks_of(columns, min_width=64)) == []
    assert list(blocks_of(columns, min_width=64, named=["x"])) == ["x"]
    baseline = build_baseline(columns, embedding_width=32)
    assert baseline.feature_names == ("x-0", "x-1", "x-2")
    assert [b.name for b in baseline.embeddings] == ["img"]
    assert len(build_baseline(columns).feature_names) == 43  # below the default width


def test_too_few_complete_rows_are_refused_with_the_count() -> None:
    rows = MODEL.draw(np.random.default_rng(0), MIN_ROWS + 10)
    rows[:20, 5] = np.nan
    with pytest.raises(BaselineError, match=f"90 complete rows, {MIN_ROWS} needed"):
        fit_embedding("text", rows)


def test_a_window_takes_the_block_as_one_array_or_as_its_tensor_columns_alike() -> None:
    baseline = reference()
    rows = MODEL.draw(np.random.default_rng(4), 30)
    rows[3, 100] = np.nan
    as_block = Window(baseline, start=0.0)
    as_block.update({"text": rows})
    as_columns = Window(baseline, start=0.0)
    as_columns.update({f"text-{j}": rows[:, j] for j in range(WIDTH)})
    np.testing.assert_array_equal(as_block.counts, as_columns.counts)
    assert as_block.unknown_rows == as_columns.unknown_rows == 0
    norm = [p.name for p in as_block.profiles].index("embedding/text/norm")
    assert int(as_block.missing[norm]) == 1  # the row with a NaN
    absent = Window(baseline, start=0.0)
    absent.update({"age": np.arange(4.0)})
    assert int(absent.missing[norm]) == 4


def test_a_shift_along_a_low_variance_direction_alarms_the_reconstruction_error() -> None:
    decisions = run(reference(), 1.5 * MODEL.low, 40, steps=60)
    first = next(i for i, d in enumerate(decisions) if d.embeddings_drifted)
    assert first == 44  # 250 rows after the change
    alarm = decisions[first]
    assert alarm.embeddings_drifted == ("text",)
    assert alarm.drift.reason == "EmbeddingDrift"
    assert "embedding drifted: text" in alarm.drift.message
    signal = alarm.signal("embedding/text/reconstruction-error")
    assert (signal.kind, signal.alarmed) == ("embedding", True)


def test_a_half_sigma_shift_along_the_first_component_alarms_its_score() -> None:
    decisions = run(reference(), 9.0 * MODEL.principal, 40, steps=60)
    first = next(i for i, d in enumerate(decisions) if d.embeddings_drifted)
    assert first == 45  # 250 rows after the change
    assert decisions[first].signal("embedding/text/pc1").alarmed


def test_without_a_change_the_block_stays_silent_and_shares_the_budget() -> None:
    baseline = reference()
    decisions = run(baseline, 0.0, None, steps=300)
    assert not any(d.drift.status == "True" for d in decisions)
    off = Engine(
        baseline,
        EvaluationSettings(drift=DriftSettings(embeddings=False)),
        Contract(30 * DAY, 30.0),
    )
    on = Engine(baseline, EvaluationSettings(), Contract(30 * DAY, 30.0))
    assert on.alternatives > off.alternatives
    assert on.threshold > off.threshold  # one budget, shared by more alternatives
    assert "embedding/text/norm" not in [s.name for s in off.step(None, None, now=0.0).signals]


def test_a_labeled_row_keeps_its_scalar_features_not_the_block() -> None:
    baseline = reference()
    window = Window(baseline, start=0.0)
    rows = {"text": MODEL.draw(np.random.default_rng(2), 2), "age": np.array([1.0, 2.0])}
    window.add_labeled(np.array([1, 0]), np.array([1, 1]), rows, now=1.0)
    kept = window.to_dict()["labeled_rows"]["rows"]
    assert window.labeled == 2
    assert all(set(row["features"]) == {"age"} for row in kept)


def test_segments_judge_the_scalar_features_and_leave_the_block_to_the_monitor() -> None:
    rng = np.random.default_rng(3)
    columns = {
        "text": MODEL.draw(rng, 600),
        "age": rng.normal(size=600),
        "country": np.array(["de", "fr"] * 300),
    }
    baseline = segment_baseline(build_baseline(columns), columns, "country")
    assert baseline.segments is not None
    assert [b.name for b in baseline.embeddings] == ["text"]
    assert all(not b.embeddings for b in baseline.segments.baselines)
    parts = split_rows(baseline.segments, {k: v[:10] for k, v in columns.items()})
    assert {name for rows, _, _ in parts.values() for name in rows} == {"age"}
