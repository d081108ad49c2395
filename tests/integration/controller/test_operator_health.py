"""An operator that lost a watch restarts. kopf retries a watch the API server refuses for about
a minute, then gives it up. Usually kopf then stops, but when it may not list
CustomResourceDefinitions either (the chart's ``-scanning`` ClusterRole missing, or bound after
the operator started) kopf waited for a restart that never came: the operator answered
``/healthz`` 200 and watched nothing, forever, even once the permissions were there. Now it
stops, naming the watch, and exits with status 1, so that its Pod restarts (``/healthz``
answers 503 while it stops).

Here the operator watches every namespace as a ServiceAccount with the chart's rules in the
test's namespace only and without the scanning rules.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

from support.cluster_waiting import wait_for
from support.controller_harness import OperatorProcess
from support.operator_identity import OperatorIdentity


def health(port: int) -> tuple[int, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
        return answer.status, answer.read().decode()


def test_an_operator_whose_watch_kopf_gave_up_says_so_and_exits(
    start_operator: Callable[..., OperatorProcess], operator_identity: OperatorIdentity
) -> None:
    operator_identity.remove()  # no scanning rules
    operator = start_operator(
        scope=("--all-namespaces",),
        refusals_expected="a role in one namespace only: the refusal is the point",
    )
    assert health(operator.port) == (200, "ok\n")  # kopf is still retrying
    watch = "watcher for modelmonitors.v1alpha1.kubedrift.io@none"

    wait_for("the operator to exit", lambda: operator.process.poll() is not None)

    assert operator.process.returncode == 1
    log = operator.log.read_text()
    assert f"kopf stopped its {watch}; the operator stops so that it is restarted" in log
    assert f"kubedrift operator: kopf stopped: {watch}" in log
