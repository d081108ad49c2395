"""Fixtures of the operator reliability suite (``make chaos``): the operator's own integration
fixtures (``start_operator``, ``kube``: the operator as a real subprocess against the session's
control plane), reused from ``tests/integration/controller`` rather than copied."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

CONTROLLER_TESTS = Path(__file__).resolve().parents[1] / "controller"
sys.path.insert(0, str(CONTROLLER_TESTS))

_spec = importlib.util.spec_from_file_location(
    "controller_conftest", CONTROLLER_TESTS / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_controller = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_controller)

kube = _controller.kube
start_operator = _controller.start_operator
operator_identity = _controller.operator_identity
