"""Fixtures of the operator reliability suite (``make chaos``): the operator's own integration
fixtures (``start_operator``, ``kube``: the operator as a real subprocess against the session's
control plane, ``support.operator_fixtures``), shared with ``tests/integration/controller``."""

from support.operator_fixtures import kube, operator_identity, start_operator

__all__ = ["kube", "operator_identity", "start_operator"]
