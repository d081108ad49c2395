"""Fault injection for the reliability tests: off unless explicitly enabled, never for production.

The reliability suite (``tests/reliability/``) proves that a failure in monitoring never reaches a
proxied request. To make the monitor's parser fail on purpose in a real sidecar process, start it
with the environment variable ``KUBEDRIFT_TEST_FAULTS`` set, for example::

    KUBEDRIFT_TEST_FAULTS="parser_exception_every=7" kubedrift sidecar ...

Keys (comma-separated ``key=value``):

- ``parser_exception_every=N``: every N-th payload parse raises :class:`InjectedFaultError` (an
  unexpected exception, so it is counted as ``kubedrift_unparsable_total{reason="internal"}``).

When the variable is absent or empty, :func:`parser_from_environ` returns the real parser itself,
untouched. An unknown key or a bad value is an error at start-up (a typo must not silently test
nothing). The monitor process logs a warning when faults are enabled.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping
from typing import Any

from kubedrift.payloads import Parsed, parse_exchange

logger = logging.getLogger(__name__)
ENV = "KUBEDRIFT_TEST_FAULTS"
ParseFunction = Callable[..., Parsed]


class InjectedFaultError(RuntimeError):
    """Raised by an injected fault; never raised unless ``KUBEDRIFT_TEST_FAULTS`` asks for it."""


def read_faults(environ: Mapping[str, str]) -> dict[str, int]:
    """The faults ``environ`` asks for (empty: none); ``ValueError`` on unknown keys or values."""
    faults: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in environ.get(ENV, "").split(","))):
        key, _, value = item.partition("=")
        if key != "parser_exception_every" or not value.isdigit() or int(value) < 1:
            raise ValueError(f"{ENV}: unknown fault or bad value {item!r}")
        faults[key] = int(value)
    return faults


def parser_from_environ(environ: Mapping[str, str]) -> ParseFunction:
    """``parse_exchange``, or (faults enabled) a wrapper that raises every N-th call."""
    every = read_faults(environ).get("parser_exception_every")
    if every is None:
        return parse_exchange
    logger.warning("%s: every %d-th payload parse raises (fault injection for tests)", ENV, every)
    calls = itertools.count(1)

    def faulty(*args: Any, **kwargs: Any) -> Parsed:
        if next(calls) % every == 0:
            raise InjectedFaultError("injected parser fault")
        return parse_exchange(*args, **kwargs)

    return faulty
