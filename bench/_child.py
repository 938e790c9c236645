"""Run one side of a benchmark in a child process of its own, to report its peak memory.

A spawned (not forked) child starts from a fresh interpreter, so its peak resident set
(``ru_maxrss``) is its own work's: neither the parent's data generation nor the other side's
memory mixes into it (issue 17: bounded memory, printed).
"""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Callable
from typing import Any


def _run(queue: Any, work: Callable[..., Any], args: tuple[Any, ...]) -> None:
    result = work(*args)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    queue.put((result, peak_mb))


def in_child(work: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """``work(*args)`` (a module-level function; picklable arguments) in a spawned process:
    its result and its peak RSS in MB."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_run, args=(queue, work, args))
    process.start()
    result, peak_mb = queue.get()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"benchmark child failed with exit code {process.exitcode}")
    return result, peak_mb
