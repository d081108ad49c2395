"""Durations: the strings the CRD pattern accepts, and their length in seconds."""

from __future__ import annotations

import re

import pytest

from kubedrift.api.fields import DURATION_PATTERN, Duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("250ms", 0.25),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("2m0.5s", 120.5),
        ("1h1m1s1ms", 3661.001),
        ("0s", 0.0),
        ("90m", 5400.0),
    ],
)
def test_valid_durations_have_their_length_in_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, rel=0, abs=1e-9)
    assert re.fullmatch(DURATION_PATTERN, text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "30",
        "s",
        "1d",
        "-1s",
        "1 h",
        "1h 30m",
        ".5s",
        "1.s",
        "1H",
        "1us",
        "30sec",
        "1" * 32 + "s",
    ],
)
def test_invalid_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_duration_keeps_its_text_and_exposes_seconds() -> None:
    d = Duration("1h30m")
    assert (str(d), d.seconds) == ("1h30m", 5400.0)
    assert d == Duration("1h30m") and d != Duration("90m")


def test_duration_cannot_hold_an_invalid_text() -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        Duration("1 day")
