"""``spec.segments`` parsed into the statistics core's selection, and the contract it splits."""

from __future__ import annotations

from typing import Any

import pytest

from kubedrift.api.spec import SpecError, parse_spec
from kubedrift.api.spec_settings import engine_contract, segment_selection, stated_contract
from kubedrift.stats.segments import SegmentSelection

BASE: dict[str, Any] = {
    "target": {"deployment": "m", "port": 8080},
    "baseline": {"configMapRef": {"name": "b"}},
    "evaluation": {"meanTimeBetweenFalseAlarms": "240h"},
}


def test_without_segments_the_monitor_keeps_the_whole_budget() -> None:
    spec = parse_spec(BASE)
    assert segment_selection(spec) is None
    assert engine_contract(spec) == stated_contract(spec)
    assert engine_contract(spec).mean_time_between_false_alarms == 240 * 3600


def test_with_segments_the_monitor_runs_at_twice_the_stated_time() -> None:
    spec = parse_spec({**BASE, "segments": {"feature": "country"}})
    assert segment_selection(spec) == SegmentSelection("country", top=5)
    assert stated_contract(spec).mean_time_between_false_alarms == 240 * 3600
    assert engine_contract(spec).mean_time_between_false_alarms == 2 * 240 * 3600


def test_listed_values_are_selected_as_listed() -> None:
    spec = parse_spec({**BASE, "segments": {"feature": "country", "values": ["fr", "de"]}})
    assert segment_selection(spec) == SegmentSelection("country", top=5, values=("fr", "de"))


@pytest.mark.parametrize(
    ("segments", "field"),
    [
        ({"feature": "country", "top": 21}, "spec.segments.top"),
        ({"feature": "country", "top": 2, "values": ["de"]}, "spec.segments.values"),
        ({"top": 2}, "spec.segments.feature"),
    ],
)
def test_invalid_segments_name_the_field(segments: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec({**BASE, "segments": segments})
    assert caught.value.path == field
