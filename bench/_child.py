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
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put((result, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime))  # KiB on Linux


def in_child(work: Callable[..., Any], *args: Any) -> tuple[Any, float, float]:
    """``work(*args)`` (a module-level function; picklable arguments) in a spawned process:
    its result, its peak RSS in MB and the CPU seconds it used (start-up included; on SQLite the
    database works in this process, so on a busy machine this is the steadier figure)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_run, args=(queue, work, args))
    process.start()
    result, peak_mb, cpu_s = queue.get()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"benchmark child failed with exit code {process.exitcode}")
    return result, peak_mb, cpu_s
