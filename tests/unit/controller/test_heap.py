"""The heap trimmer: found with glibc, absent otherwise, and it stops when asked."""

from __future__ import annotations

import asyncio
import platform

import pytest

from kubedrift.controller.heap import heap_trimmer, trim_heap_until


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is a glibc function")
def test_glibc_offers_a_trimmer_that_runs() -> None:
    trim = heap_trimmer()

    assert trim is not None
    trim()


def test_trimming_loop_ends_once_stop_is_set() -> None:
    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(trim_heap_until(stop, interval=3600))
        await asyncio.sleep(0)
        stop.set()
        await task

    asyncio.run(scenario())
