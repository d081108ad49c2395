"""Multiple-testing corrections give the textbook adjusted p-values."""

from __future__ import annotations

import numpy as np
import pytest

from kubedrift.stats.corrections import adjust

P = np.array([0.01, 0.04, 0.03, 0.20])


def test_none_keeps_the_raw_p_values() -> None:
    np.testing.assert_array_equal(adjust(P, "none"), P)


def test_bonferroni_multiplies_by_the_number_of_tests_and_caps_at_one() -> None:
    np.testing.assert_allclose(adjust(P, "bonferroni"), [0.04, 0.16, 0.12, 0.80])
    assert adjust(np.array([0.5, 0.6]), "bonferroni").tolist() == [1.0, 1.0]


def test_benjamini_hochberg_step_up_in_input_order() -> None:
    # Sorted: 0.01*4/1=0.04, 0.03*4/2=0.06, 0.04*4/3=0.0533, 0.20*4/4=0.20; running min from the
    # top makes the second and third 0.0533.
    np.testing.assert_allclose(adjust(P, "benjamini-hochberg"), [0.04, 0.16 / 3, 0.16 / 3, 0.20])


def test_benjamini_hochberg_keeps_more_discoveries_than_bonferroni() -> None:
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205])
    assert (adjust(p, "benjamini-hochberg") < 0.05).sum() > (adjust(p, "bonferroni") < 0.05).sum()


def test_empty_input() -> None:
    assert adjust(np.array([]), "benjamini-hochberg").size == 0


def test_unknown_correction_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown correction"):
        adjust(P, "holm")  # type: ignore[arg-type]
