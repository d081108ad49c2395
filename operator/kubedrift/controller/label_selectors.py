"""A Deployment's ``spec.selector`` as the ``labelSelector`` query of a list call.

``matchLabels`` become ``key=value`` terms; ``matchExpressions`` become the API server's set-based
terms: ``key in (a,b)`` (``In``), ``key notin (a,b)`` (``NotIn``), ``key`` (``Exists``) and
``!key`` (``DoesNotExist``). All terms must hold, as for the Deployment itself, so the Pods listed
are exactly the Deployment's.

>>> selector_query({"matchLabels": {"app": "m"},
...                 "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["b", "a"]},
...                                      {"key": "canary", "operator": "DoesNotExist"}]})
'app=m,tier notin (a,b),!canary'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SET_OPERATORS = {"In": "in", "NotIn": "notin"}


def selector_query(selector: Mapping[str, Any]) -> str:
    """The query for ``selector`` (a ``LabelSelector`` the API server has validated)."""
    terms = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or ():
        key, operator = expression["key"], expression["operator"]
        if operator in _SET_OPERATORS:
            values = ",".join(sorted(expression.get("values") or ()))
            terms.append(f"{key} {_SET_OPERATORS[operator]} ({values})")
        elif operator == "Exists":
            terms.append(key)
        elif operator == "DoesNotExist":
            terms.append(f"!{key}")
        else:
            raise ValueError(f"unknown label selector operator {operator!r}")
    return ",".join(terms)
