"""Evaluations: test selection, thresholds, corrections, the effect-size floor and the verdict."""

from __future__ import annotations

import numpy as np
import pytest

from kubedrift.stats.baseline import build_baseline
from kubedrift.stats.evaluation import DEFAULT_MIN_EFFECT, EvaluationError, evaluate
from kubedrift.stats.selection import select_method
from kubedrift.stats.settings import (
    DriftSettings,
    EvaluationSettings,
    FeatureOverride,
    PerformanceSettings,
    WindowSettings,
)
from kubedrift.stats.window import Window

RNG = np.random.default_rng(99)
TRAIN = {
    "a": RNG.normal(size=20_000),
    "b": RNG.normal(size=20_000),
    "c": RNG.choice(np.array(["x", "y", "z"], dtype=object), 20_000, p=[0.5, 0.3, 0.2]),
    "d": RNG.exponential(size=20_000),
}
BASELINE = build_baseline(TRAIN)


def window_of(rows: dict[str, np.ndarray], seed: int = 0, **settings: int) -> Window:
    window = Window(BASELINE, WindowSettings(**settings), start=0.0, seed=seed)
    window.update(rows)
    return window


def fresh(n: int, seed: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "a": rng.normal(shift, size=n),
        "b": rng.normal(size=n),
        "c": rng.choice(np.array(["x", "y", "z"], dtype=object), n, p=[0.5, 0.3, 0.2]),
        "d": rng.exponential(size=n),
    }


@pytest.mark.parametrize(
    ("feature", "present", "expected"),
    [("a", 1000, "ks"), ("a", 1001, "chi2"), ("c", 1000, "chi2"), ("c", 12, "jensenshannon")],
)
def test_auto_selection_by_type_and_sample_size(feature: str, present: int, expected: str) -> None:
    assert select_method(BASELINE.feature(feature), "auto", present, 1000) == expected


def test_sample_methods_fall_back_to_auto_for_categorical_features() -> None:
    assert select_method(BASELINE.feature("c"), "ks", 500, 1000) == "chi2"
    assert select_method(BASELINE.feature("a"), "psi", 500, 1000) == "psi"


def test_no_drift_on_fresh_data_from_the_training_distribution() -> None:
    evaluation = evaluate(BASELINE, window_of(fresh(800, seed=1)), EvaluationSettings())
    assert evaluation.verdict == "ok"
    assert [f.method for f in evaluation.features] == ["ks", "ks", "chi2", "ks"]
    assert evaluation.to_dict()["drift"] is False


def test_one_shifted_feature_of_four_is_a_warning_and_two_are_drift() -> None:
    rows = fresh(800, seed=2, shift=0.5)
    settings = EvaluationSettings(drift=DriftSettings(drift_share=0.5))
    one = evaluate(BASELINE, window_of(rows), settings)
    assert (one.verdict, one.share) == ("warning", 0.25)
    rows["b"] = rows["b"] + 0.5
    two = evaluate(BASELINE, window_of(rows), settings)
    assert (two.verdict, two.share, two.drift) == ("drift", 0.5, True)


def test_warning_share_raises_the_bar_for_a_warning() -> None:
    rows = fresh(800, seed=2, shift=0.5)
    settings = EvaluationSettings(drift=DriftSettings(warning_share=0.3))
    assert evaluate(BASELINE, window_of(rows), settings).verdict == "ok"


def test_too_few_samples_tests_nothing() -> None:
    evaluation = evaluate(BASELINE, window_of(fresh(99, seed=3, shift=3.0)), EvaluationSettings())
    assert (evaluation.enough_data, evaluation.verdict, evaluation.features) == (False, "ok", ())


def test_effect_size_floor_stops_large_windows_firing_on_negligible_shifts() -> None:
    """A 0.05-sigma shift over 200,000 rows is wildly significant (p < 1e-6) but moves the
    bin distribution by only about 2 points of probability: below the default floor it is not
    drift; with the floor off it is. A 0.5-sigma shift clears the floor."""
    rows = {"a": np.random.default_rng(4).normal(0.05, size=200_000)}
    window = window_of(rows)
    feature = evaluate(BASELINE, window, EvaluationSettings()).features[0]
    assert feature.method == "chi2"
    assert feature.p_value is not None and feature.p_value < 1e-6
    assert feature.effect is not None and feature.effect < DEFAULT_MIN_EFFECT
    assert not feature.drifted
    no_floor = EvaluationSettings(drift=DriftSettings(min_effect=0.0))
    assert evaluate(BASELINE, window, no_floor).features[0].drifted
    big = window_of({"a": np.random.default_rng(5).normal(0.5, size=200_000)})
    assert evaluate(BASELINE, big, EvaluationSettings()).features[0].drifted


def test_correction_changes_the_reported_p_values() -> None:
    window = window_of(fresh(800, seed=6, shift=0.1))
    raw = evaluate(BASELINE, window, EvaluationSettings(drift=DriftSettings(correction="none")))
    bonferroni = evaluate(BASELINE, window, EvaluationSettings())
    for plain, corrected in zip(raw.features, bonferroni.features, strict=True):
        assert corrected.p_value == pytest.approx(min(1.0, 4 * (plain.p_value or 0.0)))


def test_distance_methods_use_their_default_threshold_and_no_p_value() -> None:
    settings = EvaluationSettings(drift=DriftSettings(method="psi"))
    evaluation = evaluate(BASELINE, window_of(fresh(800, seed=7, shift=1.0)), settings)
    a = evaluation.features[0]
    assert (a.method, a.p_value, a.threshold, a.drifted) == ("psi", None, 0.2, True)


def test_feature_overrides_set_method_threshold_and_ignore() -> None:
    settings = EvaluationSettings(
        drift=DriftSettings(
            features=(
                FeatureOverride("a", method="wasserstein", threshold=0.3),
                FeatureOverride("b", ignore=True),
            )
        )
    )
    evaluation = evaluate(BASELINE, window_of(fresh(800, seed=8, shift=0.4)), settings)
    names = [f.name for f in evaluation.features]
    assert names == ["a", "c", "d"]
    a = evaluation.features[0]
    assert (a.method, a.threshold, a.drifted) == ("wasserstein", 0.3, True)
    assert a.statistic == pytest.approx(0.4, abs=0.08)


def test_incompatible_override_is_an_error_naming_the_feature() -> None:
    settings = EvaluationSettings(
        drift=DriftSettings(features=(FeatureOverride("c", method="ks"),))
    )
    with pytest.raises(EvaluationError, match="'c': ks needs a numeric feature"):
        evaluate(BASELINE, window_of(fresh(800, seed=9)), settings)


def test_prediction_drift_alone_makes_the_verdict_drift() -> None:
    train = {"a": RNG.normal(size=5000), "pred": RNG.integers(0, 2, 5000).astype(float)}
    baseline = build_baseline(train, prediction="pred")
    window = Window(baseline, start=0.0, seed=1)
    window.update({"a": RNG.normal(size=500)}, predictions=np.ones(500))
    evaluation = evaluate(baseline, window, EvaluationSettings())
    assert evaluation.share == 0.0
    assert evaluation.prediction is not None and evaluation.prediction.drifted
    assert evaluation.verdict == "drift"
    assert evaluation.to_dict()["prediction"]["name"] == "pred"


def test_json_shape_is_the_check_document() -> None:
    baseline = build_baseline(
        {"a": TRAIN["a"], "p": TRAIN["a"] > 0, "y": TRAIN["a"] > 0}, prediction="p", label="y"
    )
    window = Window(baseline, start=0.0)
    window.update({"a": RNG.normal(size=300)}, predictions=np.ones(300, dtype=bool))
    window.add_labeled(np.ones(300), np.ones(300))
    settings = EvaluationSettings(performance=PerformanceSettings("accuracy", 0.85, 100))
    document = evaluate(baseline, window, settings).to_dict()
    assert set(document) == {"drift", "share", "features", "prediction", "performance"}
    assert set(document["features"][0]) == {
        "name",
        "type",
        "method",
        "statistic",
        "p_value",
        "threshold",
        "drifted",
    }
    assert document["performance"] == {
        "metric": "accuracy",
        "value": 1.0,
        "lower_bound": pytest.approx(0.98735, abs=1e-5),
        "threshold": 0.85,
        "samples": 300,
        "degraded": False,
    }


def test_feature_never_seen_in_training_is_not_tested() -> None:
    train = {"a": TRAIN["a"][:1000], "empty": np.full(1000, np.nan)}
    baseline = build_baseline(train, numeric=["empty"])
    window = Window(baseline, start=0.0, seed=1)
    window.update({"a": RNG.normal(size=300), "empty": RNG.normal(size=300)})
    evaluation = evaluate(baseline, window, EvaluationSettings())
    assert [f.name for f in evaluation.features] == ["a"]
