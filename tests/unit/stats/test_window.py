"""Window sketches: batched updates, bounded memory, exact merges and serialization."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubedrift.stats.baseline import Baseline, build_baseline
from kubedrift.stats.binning import categorical_bin_counts, category_keys, numeric_bin_counts
from kubedrift.stats.settings import WindowSettings
from kubedrift.stats.window import Window
from kubedrift.stats.window_plan import WindowPlan

RNG = np.random.default_rng(11)
BASELINE = build_baseline(
    {
        "x": RNG.normal(size=1000),
        "c": RNG.choice(np.array(["a", "b", "c"], dtype=object), 1000),
        "pred": RNG.integers(0, 2, 1000).astype(float),
        "y": RNG.integers(0, 2, 1000).astype(float),
    },
    prediction="pred",
    label="y",
)
SMALL = WindowSettings(samples=50, reservoir_size=8, labeled_capacity=4, max_age_seconds=60)


def batch(size: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=size)
    x[rng.random(size) < 0.1] = np.nan
    c = rng.choice(np.array(["a", "b", "z", None], dtype=object), size)
    return {"x": x, "c": c}, rng.integers(0, 2, size).astype(float)


def test_update_counts_bins_missing_and_out_of_range() -> None:
    window = Window(BASELINE, start=0.0, seed=1)
    window.update(
        {
            "x": np.array([np.nan, -100.0, 0.0, 100.0]),
            "c": np.array(["a", None, "zzz", "b"], dtype=object),
        }
    )
    x, c = 0, 1
    assert window.samples == 4
    assert window.missing[[x, c]].tolist() == [1, 1]
    assert window.out_of_range[[x, c]].tolist() == [2, 1]
    assert window.column_counts(x)[[0, -1]].tolist() == [1, 1]
    assert window.column_counts(c).tolist() == _categorical_counts(["a", "zzz", "b"])


def _categorical_counts(values: list[str]) -> list[int]:
    vocabulary = BASELINE.feature("c").vocabulary
    counts = [values.count(name) for name in vocabulary]
    return [*counts, sum(1 for v in values if v not in vocabulary)]


def test_absent_feature_counts_as_missing_and_unknown_columns_are_ignored() -> None:
    window = Window(BASELINE, start=0.0)
    window.update({"c": np.array(["a", "b"], dtype=object), "unknown": np.ones(2)})
    assert window.missing[0] == 2


def test_moments_match_numpy() -> None:
    rows, predictions = batch(500, seed=2)
    window = Window(BASELINE, start=0.0)
    window.update(rows, predictions)
    present = rows["x"][~np.isnan(rows["x"])]
    mean, std = window.moments(0) or (None, None)
    assert mean == pytest.approx(present.mean(), rel=1e-12)
    assert std == pytest.approx(present.std(), rel=1e-9)


def test_infinities_count_as_missing_and_leave_moments_and_sample_finite() -> None:
    x = np.array([np.inf, -np.inf, 1.0, 2.0, np.nan, 3.0])
    window = Window(BASELINE, start=0.0, seed=4)
    window.update({"x": x, "c": np.array(["a"] * 6, dtype=object)})
    assert window.missing[0] == 3
    assert window.out_of_range[0] == 0
    assert int(window.column_counts(0).sum()) == 3
    assert window.moments(0) == pytest.approx((2.0, np.std([1.0, 2.0, 3.0])))
    assert sorted(window.numeric_sample("x").tolist()) == [1.0, 2.0, 3.0]


def test_memory_is_bounded_whatever_the_input_size() -> None:
    window = Window(BASELINE, SMALL, start=0.0, seed=3)
    for seed in range(20):
        rows, predictions = batch(200, seed)
        window.update(rows, predictions)
        window.add_labeled(predictions, predictions, rows)
    assert window.samples == 4000
    assert len(window.reservoir) == SMALL.reservoir_size
    assert len(window.labeled_rows()) == SMALL.labeled_capacity
    assert len(json.dumps(window.to_dict())) < 3000


def test_is_full_by_samples_or_by_age() -> None:
    window = Window(BASELINE, SMALL, start=100.0)
    assert not window.is_full(now=159.0)
    assert window.is_full(now=160.0)
    window.update(*batch(50, seed=4))
    assert window.is_full(now=100.0)


def test_labeled_rows_carry_features_prediction_and_label() -> None:
    window = Window(BASELINE, start=0.0, seed=5)
    window.add_labeled(np.array([1.0]), np.array([0.0]), {"x": np.array([2.5])})
    assert window.labeled_rows() == [{"features": {"x": 2.5}, "prediction": 1.0, "label": 0.0}]
    assert window.labels.confusion[0, 1] == 1


def test_labeled_rows_carry_the_time_their_label_was_joined() -> None:
    window = Window(BASELINE, start=0.0, seed=5)
    window.add_labeled(np.array([1.0]), np.array([0.0]), {"x": np.array([2.5])}, now=7.5)
    window.add_labeled(np.array([0.0]), np.array([0.0]), {"x": np.array([-1.0])}, now=9.0)
    assert sorted((r["time"], r["features"]["x"]) for r in window.labeled_rows()) == [
        (7.5, 2.5),
        (9.0, -1.0),
    ]
    restored = Window.from_dict(window.to_dict(), BASELINE)
    assert sorted(r["time"] for r in restored.labeled_rows()) == [7.5, 9.0]


def test_reservoir_is_a_uniform_sample() -> None:
    """Each of 100 values lands in a 10-slot reservoir with probability 1/10; over 2000 seeded
    windows the counts per value are binomial(2000, 0.1): mean 200, sd 13.4, and every one of
    the 100 counts stays within 5 sd of 200 (a false failure has probability below 1e-4)."""
    hits = np.zeros(100)
    settings_ = WindowSettings(reservoir_size=10)
    values = np.arange(100, dtype=float)
    for seed in range(2000):
        window = Window(BASELINE, settings_, start=0.0, seed=seed)
        for chunk in np.split(values, 4):
            window.update({"x": chunk})
        hits[window.numeric_sample("x").astype(int)] += 1
    assert np.abs(hits - 200).max() < 5 * 13.4


def state(window: Window) -> dict[str, Any]:
    data = window.to_dict()
    data.pop("moments")
    return data


def assert_same(left: Window, right: Window) -> None:
    assert state(left) == state(right)
    np.testing.assert_allclose(left.sums, right.sums, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(left.squares, right.squares, rtol=1e-12, atol=1e-12)


def filled(seed: int, sizes: list[int], start: float) -> Window:
    window = Window(BASELINE, SMALL, start=start, seed=seed)
    for i, size in enumerate(sizes):
        rows, predictions = batch(size, seed * 100 + i)
        window.update(rows, predictions, now=start + i)
        window.add_labeled(
            predictions[: size // 2], predictions[: size // 2][::-1], {"x": rows["x"][: size // 2]}
        )
    return window


sizes = st.lists(st.integers(0, 30), max_size=3)


@settings(max_examples=40, deadline=None)
@given(sizes, sizes, sizes, st.integers(0, 2**16))
def test_merge_is_associative(a: list[int], b: list[int], c: list[int], seed: int) -> None:
    x, y, z = filled(seed, a, 1.0), filled(seed + 1, b, 5.0), filled(seed + 2, c, 3.0)
    assert_same(x.merge(y).merge(z), x.merge(y.merge(z)))


@settings(max_examples=40, deadline=None)
@given(sizes, sizes, st.integers(0, 2**16))
def test_merge_is_commutative(a: list[int], b: list[int], seed: int) -> None:
    x, y = filled(seed, a, 1.0), filled(seed + 1, b, 5.0)
    assert_same(x.merge(y), y.merge(x))


def test_merged_window_holds_both_windows_counts() -> None:
    x, y = filled(1, [30, 20], 1.0), filled(2, [10], 0.5)
    merged = x.merge(y)
    assert (merged.samples, merged.labeled) == (60, 30)
    assert (merged.start, merged.end) == (0.5, 2.0)
    np.testing.assert_array_equal(merged.counts, x.counts + y.counts)


def test_serialization_round_trip_is_exact() -> None:
    window = filled(7, [30, 30], 0.0)
    again = Window.from_dict(json.loads(json.dumps(window.to_dict())), BASELINE, SMALL)
    assert again.to_dict() == window.to_dict()


def test_window_from_another_baseline_is_rejected() -> None:
    other = build_baseline({"z": np.arange(50, dtype=float)})
    with pytest.raises(ValueError, match="do not match the baseline"):
        Window.from_dict(filled(1, [5], 0.0).to_dict(), other)
    with pytest.raises(ValueError, match="different baselines"):
        Window(BASELINE, start=0).merge(Window(other, start=0))


@pytest.mark.parametrize("size", [1, 3, 16, 40])
def test_the_sample_holds_the_offered_values_of_the_smallest_keys(size: int) -> None:
    """A window draws one key per row from its seeded generator; its sample is the rows of the
    ``reservoir_size`` smallest keys, with the values as they came in (the window sorts its
    batch matrix to bin it, and the reservoir may keep that matrix's batch by reference)."""
    settings_ = WindowSettings(reservoir_size=10)
    window = Window(BASELINE, settings_, start=0.0, seed=21)
    keys = np.random.default_rng(21)
    rng = np.random.default_rng(size)
    drawn, values = [], []
    for _ in range(60 // size):
        x, pred = rng.normal(size=size), rng.normal(size=size)
        window.update({"x": x}, pred)
        drawn.append(keys.random(size))
        values.append(x)
    order = np.argsort(np.concatenate(drawn))[:10]
    assert window.numeric_sample("x").tolist() == np.concatenate(values)[order].tolist()


def test_windows_sharing_a_plan_hold_exactly_what_windows_with_their_own_plan_hold() -> None:
    plan = WindowPlan.for_baseline(BASELINE)
    shared = [Window(BASELINE, SMALL, start=0.0, seed=seed, plan=plan) for seed in (1, 2)]
    own = [Window(BASELINE, SMALL, start=0.0, seed=seed) for seed in (1, 2)]
    for i, size in enumerate([7, 0, 30, 3]):
        rows, predictions = batch(size, i)
        for window in [*shared, *own]:
            window.update(rows, predictions, now=float(i))
    assert [w.to_dict() for w in shared] == [w.to_dict() for w in own]
    # One layout for 7 and 3 rows (a chunk of 8 values), one for 30 (32); 0 is never binned.
    assert len(plan.search_tables) == 2
    merged = shared[0].merge(shared[1])
    assert merged.plan is plan
    assert merged.to_dict() == own[0].merge(own[1]).to_dict()


def test_a_plan_is_read_only_and_updates_leave_it_unchanged() -> None:
    plan = WindowPlan.for_baseline(BASELINE)
    arrays = {"edges": plan.edges, "opens_bin": plan.opens_bin, "rows": plan.numeric_rows}
    before = {name: array.copy() for name, array in arrays.items()}
    window = Window(BASELINE, SMALL, start=0.0, seed=3, plan=plan)
    rows, predictions = batch(40, 5)
    rows["x"][:3] = [np.inf, -np.inf, 1e300]
    window.update(rows, predictions)
    for name, array in arrays.items():
        np.testing.assert_array_equal(array, before[name])
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0
    with pytest.raises(AttributeError):
        plan.widest = 1  # type: ignore[misc]


def test_a_plan_built_for_another_baseline_is_rejected() -> None:
    other = build_baseline({"z": np.arange(50, dtype=float)})
    with pytest.raises(ValueError, match="another baseline"):
        Window(BASELINE, start=0.0, plan=WindowPlan.for_baseline(other))


def test_baseline_without_prediction_accepts_updates_without_predictions() -> None:
    baseline = Baseline.from_dict(
        {
            **BASELINE.to_dict(),
            "prediction": None,
            "task": None,
            "classes": [],
            "label": None,
            "performance": {},
        }
    )
    window = Window(baseline, start=0.0)
    window.update({"x": np.ones(3)})
    assert window.samples == 3


def test_batch_binning_matches_the_reference_binning_on_edges_and_extremes() -> None:
    """Values exactly on an edge belong to the bin below it (bins are right-closed), the
    reference minimum and maximum are in range, NaN is missing."""
    profile = BASELINE.feature("x")
    assert profile.minimum is not None and profile.maximum is not None
    rng = np.random.default_rng(8)
    values = np.concatenate(
        [
            rng.normal(size=500) * 2,
            np.asarray(profile.edges),
            [profile.minimum, profile.maximum, np.nextafter(profile.maximum, np.inf), np.nan],
        ]
    )
    window = Window(BASELINE, start=0.0)
    window.update({"x": values})
    expected = numeric_bin_counts(values, np.asarray(profile.edges))
    assert window.column_counts(0).tolist() == expected.tolist()
    present = values[~np.isnan(values)]
    outside = int(((present < profile.minimum) | (present > profile.maximum)).sum())
    assert (window.out_of_range[0], window.missing[0]) == (outside, 1)


NUMERIC = build_baseline(
    {
        "a": RNG.normal(size=2000),
        "b": RNG.exponential(size=2000),
        "few": RNG.integers(0, 3, 2000).astype(float),
    },
    numeric=["few"],
)


def reference_state(baseline: Baseline, rows: dict[str, np.ndarray]) -> dict[str, list[int]]:
    """Bins, missing and out-of-range counts computed column by column with the baseline's
    own binning function: what a batch update must reproduce."""
    state: dict[str, list[int]] = {"counts": [], "missing": [], "out_of_range": []}
    for profile in baseline.features:
        values = rows[profile.name]
        present = values[~np.isnan(values)]
        assert profile.minimum is not None and profile.maximum is not None
        state["counts"].append(numeric_bin_counts(values, np.asarray(profile.edges)).tolist())
        state["missing"].append(int(values.size - present.size))
        outside = (present < profile.minimum) | (present > profile.maximum)
        state["out_of_range"].append(int(outside.sum()))
    return state


def window_state(window: Window) -> dict[str, list[int]]:
    columns = range(len(window.baseline.features))
    return {
        "counts": [window.column_counts(i).tolist() for i in columns],
        "missing": window.missing[list(columns)].tolist(),
        "out_of_range": window.out_of_range[list(columns)].tolist(),
    }


@pytest.mark.parametrize("missing_rate", [0.0, 0.2])
@pytest.mark.parametrize("size", [1, 64, 300, 1024])
def test_batch_bins_like_the_reference_binning_with_and_without_missing_values(
    size: int, missing_rate: float
) -> None:
    """A batch without NaN skips the missing-value scan; with NaN it takes the other path.
    Both must equal the per-column reference, also for the integer column whose values sit
    exactly on its edges, and for values outside the reference range."""
    rng = np.random.default_rng(size)
    rows = {
        "a": rng.normal(size=size) * 1.5,
        "b": rng.exponential(size=size) * 2,
        "few": rng.integers(-1, 5, size).astype(float),
    }
    for values in rows.values():
        values[rng.random(size) < missing_rate] = np.nan
    window = Window(NUMERIC, start=0.0, seed=1)
    window.update(rows)
    assert window_state(window) == reference_state(NUMERIC, rows)
    present = rows["a"][~np.isnan(rows["a"])]
    if present.size:
        mean, _ = window.moments(0) or (None, None)
        assert mean == pytest.approx(present.mean(), rel=1e-12)


MIXED = build_baseline(
    {
        "x": RNG.normal(size=2000),
        "c": RNG.choice(np.array(["a", "b", "c"], dtype=object), 2000),
        "z": RNG.normal(size=2000) * 3,
        "score": RNG.normal(size=2000),
    },
    prediction="score",
)


def test_numeric_columns_apart_from_each_other_bin_like_the_reference_binning() -> None:
    """Here the numeric columns (x, z and the prediction) are not next to each other: the
    categorical c sits between them. Categorical counts are unchanged by the numeric path."""
    rng = np.random.default_rng(9)
    rows = {
        "x": rng.normal(size=700),
        "c": rng.choice(np.array(["a", "b", "z", None], dtype=object), 700),
        "z": rng.normal(size=700) * 4,
    }
    rows["z"][::7] = np.nan
    predictions = rng.normal(size=700)
    window = Window(MIXED, start=0.0, seed=1)
    window.update(rows, predictions)
    assert MIXED.prediction is not None
    expected = [
        numeric_bin_counts(values, np.asarray(profile.edges)).tolist()
        for profile, values in [
            (MIXED.feature("x"), rows["x"]),
            (MIXED.feature("z"), rows["z"]),
            (MIXED.prediction, predictions),
        ]
    ]
    # The multivariate reconstruction error sits between the features and the prediction.
    x, c, z, score = 0, 1, 2, len(window.profiles) - 1
    assert [window.column_counts(i).tolist() for i in (x, z, score)] == expected
    missing = [0, int((rows["c"] == None).sum()), 100, 0]  # noqa: E711
    assert window.missing[[x, c, z, score]].tolist() == missing
    assert (
        window.column_counts(c).tolist()
        == categorical_bin_counts(category_keys(rows["c"]), MIXED.feature("c").vocabulary).tolist()
    )
