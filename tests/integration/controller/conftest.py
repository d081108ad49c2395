"""Fixtures of the operator's integration tests: the operator under test as a real subprocess
(``support.operator_fixtures``)."""

from support.operator_fixtures import kube, operator, operator_identity, start_operator

__all__ = ["kube", "operator", "operator_identity", "start_operator"]
