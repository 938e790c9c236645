"""Run one side of a benchmark in a child process of its own, to report its peak memory.

A spawned (not forked) child starts from a fresh interpreter, so its peak resident set (``VmHWM``,
see :func:`_peak_mb`) is its own work's: neither the parent's data generation nor the other side's
memory mixes into it (issue 17: bounded memory, printed).
"""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Callable
from typing import Any


def _peak_mb(usage: Any) -> float:
    """This process's peak resident set in MB: ``VmHWM``, the high-water mark of its own memory
    since the exec. Not ``ru_maxrss``: Linux carries the parent's peak into it across the fork and
    exec that spawn a child, so it reported the parent's memory (populating the rows), not the
    child's."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return float(usage.ru_maxrss) / 1024  # KiB on Linux; no /proc elsewhere


def _run(queue: Any, work: Callable[..., Any], args: tuple[Any, ...]) -> None:
    result = work(*args)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put((result, _peak_mb(usage), usage.ru_utime + usage.ru_stime))


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
