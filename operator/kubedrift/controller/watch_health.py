"""Whether kopf still watches what it must: a watch kopf gave up on stops the operator.

kopf retries a failing list or watch request a few times (``settings.networking.error_backoffs``,
about a minute in all), then ends that watcher for good and logs "Watcher for <resource>@<namespace>
has failed" through its orchestration logger. Usually kopf then stops, but when it may not list
CustomResourceDefinitions either it waits for a restart that never came: an operator whose
ServiceAccount lacked the chart's rules (RBAC applied after the operator, a binding removed)
went on answering ``/healthz`` 200 and watched nothing, even after the permission came back.

:class:`KopfTaskFailures` hears kopf's long-running tasks (watchers, peering) fail or end and
calls ``on_failure``; the operator then answers ``/healthz`` with 503 naming them and stops,
exiting with status 1, so the Pod restarts and watches again (and ``kubectl get pods`` counts
the restarts while the cause remains).

>>> failures = KopfTaskFailures()
>>> failures.emit(logging.makeLogRecord({"msg": "Watcher for pods@ml has failed: forbidden"}))
>>> failures.problem()
'kopf stopped: watcher for pods@ml (see the operator log)'
"""

from __future__ import annotations

import logging
from collections.abc import Callable

#: The logger of kopf's orchestration, which runs (and reports the end of) the watchers.
KOPF_TASKS_LOGGER = "kopf._core.reactor.orchestration"
_ENDINGS = (" has failed: ", " has finished unexpectedly.")

logger = logging.getLogger(__name__)


class KopfTaskFailures(logging.Handler):
    """Remembers the kopf tasks that failed or ended (see the module docstring)."""

    def __init__(self, on_failure: Callable[[], None] = lambda: None) -> None:
        super().__init__(logging.WARNING)
        self.on_failure = on_failure
        self.failed: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for ending in _ENDINGS:
            name, found, _ = message.partition(ending)
            if found:
                task = name[:1].lower() + name[1:]
                self.failed.append(task)
                logger.error(
                    "kopf stopped its %s; the operator stops so that it is restarted", task
                )
                self.on_failure()
                return

    def attach(self) -> KopfTaskFailures:
        """Listen to kopf's orchestration logger (until :meth:`detach`)."""
        logging.getLogger(KOPF_TASKS_LOGGER).addHandler(self)
        return self

    def detach(self) -> None:
        logging.getLogger(KOPF_TASKS_LOGGER).removeHandler(self)

    def problem(self) -> str | None:
        """``None`` while every task runs, else what stopped."""
        if not self.failed:
            return None
        return f"kopf stopped: {'; '.join(self.failed[:3])} (see the operator log)"
