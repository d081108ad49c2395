"""A Pod's operator gets SIGTERM on every rollout, eviction and scale-down. It then stops cleanly:
its monitors' loops, the heap trimmer, its HTTP server and its client sessions end, and it
exits with status 0 without a traceback or an unclosed-session warning in its log (which a
human would otherwise have to read to tell a clean stop from a crash)."""

from __future__ import annotations

import signal
from typing import Any

from support.cluster_waiting import wait_for
from support.controller_harness import OperatorProcess, model_monitor


def test_sigterm_stops_an_operator_with_a_running_monitor_cleanly(
    kube: Any, operator: OperatorProcess
) -> None:
    kube.create_monitor(model_monitor("watch", "model"))  # no Deployment: its loop keeps running
    wait_for(
        "the monitor's first round",
        lambda: kube.condition("watch", "Ready") == ("False", "DeploymentNotFound"),
    )

    operator.process.send_signal(signal.SIGTERM)
    wait_for("the operator to exit", lambda: operator.process.poll() is not None)

    log = operator.log.read_text(errors="replace")
    assert operator.process.returncode == 0, log[-5000:]
    assert "Traceback" not in log, log[-5000:]
    assert "Unclosed" not in log, log[-5000:]
    assert "CancelledError" not in log, log[-5000:]
