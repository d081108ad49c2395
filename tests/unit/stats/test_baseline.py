"""Baseline profiles: types, bins, samples, the JSON format and its size."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kubedrift.stats.baseline import Baseline, BaselineError, build_baseline, detect_type


def test_numeric_feature_gets_decile_edges_and_equal_reference_counts() -> None:
    baseline = build_baseline({"x": np.arange(1000, dtype=float)})
    profile = baseline.feature("x")
    assert profile.type == "numeric"
    assert profile.counts == (100,) * 10
    assert profile.edges[0] == pytest.approx(99.9)
    assert (profile.minimum, profile.maximum) == (0.0, 999.0)


def test_categorical_vocabulary_is_ordered_by_frequency_with_other_bin() -> None:
    values = np.array(["b"] * 5 + ["a"] * 3 + ["c"] * 2 + [None], dtype=object)
    profile = build_baseline({"c": values}, max_categories=2).feature("c")
    assert profile.vocabulary == ("b", "a")
    assert profile.counts == (5, 3, 2)
    assert profile.missing == 1
    assert profile.out_of_range_rate == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([0.0, 1.0, 1.0, 0.0]), "categorical"),
        (np.arange(11, dtype=float), "numeric"),
        (np.array([0.5, 1.5]), "numeric"),
        (np.array([True, False]), "categorical"),
        (np.array(["x", "y"], dtype=object), "categorical"),
    ],
)
def test_type_detection_rule(values: np.ndarray, expected: str) -> None:
    assert detect_type(values) == expected


def test_forced_types_override_detection() -> None:
    columns = {"flag": np.array([0.0, 1.0] * 50), "code": np.arange(100, dtype=float)}
    baseline = build_baseline(columns, numeric=["flag"], categorical=["code"])
    assert baseline.feature("flag").type == "numeric"
    assert baseline.feature("code").type == "categorical"


def test_missing_values_are_counted_and_not_binned() -> None:
    profile = build_baseline({"x": np.array([1.0, np.nan, 3.0, 4.0])}).feature("x")
    assert (profile.count, profile.missing, sum(profile.counts)) == (4, 1, 3)


def test_json_round_trip_is_lossless() -> None:
    rng = np.random.default_rng(3)
    columns = {
        "x": rng.normal(size=2000),
        "c": rng.choice(np.array(["u", "v", "w"], dtype=object), 2000),
        "pred": rng.integers(0, 2, 2000).astype(float),
        "y": rng.integers(0, 2, 2000).astype(float),
    }
    baseline = build_baseline(columns, prediction="pred", label="y")
    assert Baseline.from_json(baseline.to_json()) == baseline
    assert baseline.task == "classification"
    assert baseline.classes == ("0", "1")
    assert set(baseline.performance) == {"accuracy", "error-rate", "f1-macro"}


def test_two_hundred_features_fit_well_under_a_mebibyte() -> None:
    rng = np.random.default_rng(4)
    columns = {f"f{i}": rng.normal(size=5000) for i in range(200)}
    assert len(build_baseline(columns).to_json().encode()) < 600 * 1024


def test_reference_sample_is_bounded_and_drawn_from_the_data() -> None:
    values = np.random.default_rng(5).normal(size=10_000)
    profile = build_baseline({"x": values}, sample_size=300).feature("x")
    assert len(profile.sample) == 300
    assert np.isin(profile.sample_array(), values.astype(np.float32).astype(float)).all()


def test_regression_baseline_records_error_metrics() -> None:
    truth = np.linspace(1, 10, 100)
    baseline = build_baseline(
        {"x": truth, "pred": truth + 1.0, "y": truth}, prediction="pred", label="y"
    )
    assert baseline.task == "regression"
    assert baseline.performance["mae"] == pytest.approx(1.0)
    assert baseline.performance["rmse"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"kind": "something"}, "not a kubedrift baseline"),
        ({"kind": "kubedrift.io/baseline", "version": 99}, "unsupported baseline version 99"),
        ({"kind": "kubedrift.io/baseline", "version": 1, "rows": 1}, "malformed baseline"),
    ],
)
def test_bad_documents_are_rejected_with_a_reason(
    document: dict[str, object], message: str
) -> None:
    with pytest.raises(BaselineError, match=message):
        Baseline.from_json(json.dumps(document))


def test_missing_column_is_named() -> None:
    with pytest.raises(BaselineError, match="'nope' is not in the data"):
        build_baseline({"x": np.ones(3)}, features=["nope"])
