"""Run a few calls at once in forked processes (the build's two CPU-heavy writers: the site's
pages and the open datasets' formats).

Forked, not spawned: a process starts with the build's memory (the release data, the compiled
templates) instead of pickling it; only results travel back. The calls may only write files —
what they change in memory stays in their process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_CALLS: Sequence[Callable[[], Any]] = ()
"""The calls of the current ``run_parallel``, set before the fork (processes find them here)."""


def _run(index: int) -> Any:
    return _CALLS[index]()


def available_cpus() -> int:
    return len(os.sched_getaffinity(0))


def run_parallel(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """``[call() for call in calls]``: the first call in this process, each other in a forked
    process, all at once. Results come back in order; an error in any call (a full disk, a bad
    record) is raised here, as it would be from a plain loop; a killed process raises
    ``BrokenProcessPool``."""
    if len(calls) <= 1:
        return [call() for call in calls]
    global _CALLS
    if _CALLS:
        raise RuntimeError("run_parallel is not re-entrant")
    _CALLS = calls
    try:
        with ProcessPoolExecutor(
            len(calls) - 1, mp_context=multiprocessing.get_context("fork")
        ) as pool:
            others = [pool.submit(_run, n) for n in range(1, len(calls))]
            first = calls[0]()
            return [first] + [future.result() for future in others]
    finally:
        _CALLS = ()
