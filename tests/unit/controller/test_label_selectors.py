"""A Deployment's selector, matchLabels and matchExpressions alike, becomes one list query."""

from __future__ import annotations

import doctest
from typing import Any

import pytest

from kubedrift.controller import label_selectors
from kubedrift.controller.label_selectors import selector_query


@pytest.mark.parametrize(
    ("selector", "query"),
    [
        ({"matchLabels": {"b": "2", "a": "1"}}, "a=1,b=2"),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]},
         "tier in (api,web)"),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["canary"]}]},
         "tier notin (canary)"),
        ({"matchExpressions": [{"key": "track", "operator": "Exists"}]}, "track"),
        ({"matchExpressions": [{"key": "canary", "operator": "DoesNotExist", "values": []}]},
         "!canary"),
        ({"matchLabels": {"app": "m"},
          "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]},
                               {"key": "canary", "operator": "DoesNotExist"}]},
         "app=m,tier in (a),!canary"),
    ],
    ids=["labels", "in", "not-in", "exists", "does-not-exist", "all-together"],
)  # fmt: skip
def test_every_selector_term_becomes_a_query_term(selector: dict[str, Any], query: str) -> None:
    assert selector_query(selector) == query


def test_an_operator_the_api_does_not_have_is_refused() -> None:
    with pytest.raises(ValueError, match="Gt"):
        selector_query({"matchExpressions": [{"key": "n", "operator": "Gt", "values": ["1"]}]})


def test_the_docstring_example_holds() -> None:
    result = doctest.testmod(label_selectors, verbose=False)

    assert result.attempted > 0 and result.failed == 0
