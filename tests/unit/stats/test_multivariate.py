"""The multivariate signal: a PCA reconstruction error judged like a binned numeric feature.

The stream that matters: two features whose correlation flips (rho 0.8 to -0.8) while both
marginals stay standard normal. Every per-feature detector sees the same distribution before and
after, so only the relation can give the change away.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pytest

from kubedrift.stats.baseline import Baseline, BaselineError, build_baseline
from kubedrift.stats.engine import Contract, Decision, Engine
from kubedrift.stats.multivariate import COLUMN, MIN_ROWS, fit_multivariate
from kubedrift.stats.settings import DriftSettings, EvaluationSettings
from kubedrift.stats.window import Window
from support.engine_stream import step_stream

DAY = 86400.0
Rows = Mapping[str, npt.NDArray[np.float64]]


def correlated(
    rng: np.random.Generator, rho: float, n: int, noise: int = 0
) -> dict[str, npt.NDArray[np.float64]]:
    """``x`` and ``y`` standard normal with correlation ``rho``, plus ``noise`` independent
    standard normal features."""
    x = rng.normal(size=n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)
    rows = {"x": x, "y": y}
    rows.update({f"z{i}": rng.normal(size=n) for i in range(noise)})
    return rows


def reference(noise: int = 0) -> Baseline:
    return build_baseline(correlated(np.random.default_rng(0), 0.8, 20_000, noise))


def run(
    baseline: Baseline,
    settings: EvaluationSettings,
    change_at: int | None,
    steps: int,
    *,
    per_step: int = 50,
    noise: int = 0,
) -> list[Decision]:
    """50 rows every 30 s with correlation 0.8, -0.8 from step ``change_at`` on."""

    def rows(rng: np.random.Generator, step: int) -> Rows:
        rho = -0.8 if change_at is not None and step >= change_at else 0.8
        return correlated(rng, rho, per_step, noise)

    return step_stream(baseline, settings, rows, steps)


def test_the_fit_keeps_the_components_that_explain_ninety_percent_and_stores_the_rest() -> None:
    fit = reference().multivariate
    assert fit is not None
    assert fit.features == ("x", "y")
    assert fit.kept == 1  # eigenvalues 1.8 and 0.2 of the correlation matrix: 90% in one
    assert fit.explained == pytest.approx(0.9, abs=0.01)
    direction = np.abs(fit.residual[0])
    assert direction == pytest.approx([2**-0.5, 2**-0.5], abs=0.01)  # (x - y) / sqrt(2)
    assert fit.profile.name == COLUMN
    assert sum(fit.profile.counts) == 10_000  # the held-out half is the reference


def test_the_fit_round_trips_through_the_baseline_json() -> None:
    baseline = reference(noise=3)
    again = Baseline.from_json(baseline.to_json())
    assert again == baseline
    assert again.multivariate is not None
    rows = correlated(np.random.default_rng(5), 0.8, 7, noise=3)
    columns = [rows[name] for name in again.multivariate.features]
    assert baseline.multivariate is not None
    np.testing.assert_array_equal(
        again.multivariate.errors(columns, 7), baseline.multivariate.errors(columns, 7)
    )


def test_one_numeric_feature_or_too_few_rows_give_no_fit_and_old_baselines_still_read() -> None:
    rng = np.random.default_rng(0)
    assert (
        build_baseline({"x": rng.normal(size=500), "c": np.array(["a", "b"] * 250)}).multivariate
        is None
    )
    assert (
        fit_multivariate(
            {"x": rng.normal(size=MIN_ROWS - 1), "y": rng.normal(size=MIN_ROWS - 1)}, ("x", "y")
        )
        is None
    )
    assert build_baseline(correlated(rng, 0.8, 1000), multivariate=False).multivariate is None
    data = reference().to_dict()
    del data["multivariate"]
    assert Baseline.from_dict(data).multivariate is None
    data = reference().to_dict()
    data["multivariate"]["residual"] = "AAAA"  # three bytes: not float32 rows of two
    with pytest.raises(BaselineError, match="multivariate"):
        Baseline.from_dict(data)


def test_a_row_with_a_missing_feature_counts_as_missing_in_the_multivariate_column() -> None:
    baseline = reference()
    window = Window(baseline, start=0.0)
    window.update({"x": np.array([0.1, np.nan, 0.3]), "y": np.array([0.2, 0.5, np.inf])})
    column = [p.name for p in window.profiles].index(COLUMN)
    assert int(window.missing[column]) == 2
    assert int(window.column_counts(column).sum()) == 1
    window.update({"x": np.array([0.0, 1.0])})  # y absent from the batch
    assert int(window.missing[column]) == 4


def test_a_correlation_flip_with_identical_marginals_alarms_only_the_multivariate_signal() -> None:
    decisions = run(reference(), EvaluationSettings(), 40, steps=80)
    assert all(not d.drifted for d in decisions)  # no feature's own detector ever alarms
    assert next(i for i, d in enumerate(decisions) if d.multivariate_drifted) == 41
    alarm = decisions[41]
    assert alarm.drift.status == "True"
    assert alarm.drift.reason == "MultivariateDrift"
    signal = alarm.signal(COLUMN)
    assert signal.kind == "multivariate"
    assert signal.alarmed
    assert signal.effect > 0.3
    assert all(not d.multivariate_drifted for d in decisions[:40])


def test_without_a_change_the_multivariate_signal_stays_silent() -> None:
    decisions = run(reference(noise=2), EvaluationSettings(), None, steps=400, noise=2)
    assert not any(d.drift.status == "True" for d in decisions)
    assert max(d.signal(COLUMN).statistic for d in decisions) < decisions[0].threshold


def test_the_signal_can_be_switched_off_and_then_the_flip_goes_unseen() -> None:
    settings = EvaluationSettings(drift=DriftSettings(multivariate=False))
    decisions = run(reference(), settings, 40, steps=80)
    assert not any(d.drift.status == "True" for d in decisions)
    assert COLUMN not in [s.name for s in decisions[-1].signals]
    on = Engine(reference(), EvaluationSettings(), Contract(30 * DAY, 30.0))
    off = Engine(reference(), settings, Contract(30 * DAY, 30.0))
    # 15 of its 20 tilts (the others lie inside the reference's ball or move the distribution
    # by less than the 5-point floor) and the shape alternative.
    assert on.alternatives == off.alternatives + 16
