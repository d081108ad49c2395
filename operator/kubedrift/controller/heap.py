"""Hand freed heap memory back to the operating system every few seconds (glibc only).

Every evaluation round parses a few hundred kilobytes of JSON (the Deployment, the baseline
ConfigMap, the sidecars' windows, the written status) and frees it again. glibc's ``free`` keeps
most of that memory in the process for reuse: only a free block at the very top of the heap goes
back to the system, so the RSS settles at the highest heap the rounds ever needed, not at what
the operator holds. ``malloc_trim(0)`` returns every free page of every arena (``madvise``), and
costs a walk over the heap's free lists (about a millisecond here). With 250 to 500 monitors it
gave back 14-16 MB of a 120-130 MB RSS (docs/operator.md, "Scale").

Python's own small-object allocator is not affected: it returns an arena of 1 MiB when the last
object in it is freed. Where the C library is not glibc (``malloc_trim`` absent, e.g. musl),
:func:`heap_trimmer` returns ``None`` and nothing runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
from collections.abc import Callable

#: Seconds between two trims.
TRIM_INTERVAL = 10.0


def heap_trimmer() -> Callable[[], None] | None:
    """A function that calls ``malloc_trim(0)``, or ``None`` without glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int

    def run() -> None:
        trim(0)

    return run


async def trim_heap_until(stop: asyncio.Event, interval: float = TRIM_INTERVAL) -> None:
    """Trim the heap every ``interval`` seconds until ``stop`` is set (at once without glibc)."""
    trim = heap_trimmer()
    if trim is None:
        return
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
        trim()
