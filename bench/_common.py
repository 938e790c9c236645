"""Shared benchmark plumbing: a scratch vault on SQLite and on PostgreSQL, timing, the result table."""

from __future__ import annotations

import argparse
import gc
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from callvault.crypto.master_key import MasterKey
from callvault.crypto.primitives import new_key
from callvault.store import connect, migrate, sqlalchemy_url
from callvault.vault import Vault

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def arguments(description: str, rows: int, rounds: int | None = None) -> argparse.Namespace:
    """The common options; with ``rounds``, also ``--rounds`` (see :func:`interleaved`)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=int, default=rows)
    if rounds is not None:
        parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--pg", default=os.environ.get("CALLVAULT_TEST_PG", DEFAULT_PG))
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    return parser.parse_args()


@contextmanager
def scratch_vault(backend: str, pg_url: str) -> Iterator[Vault]:
    """A migrated, empty vault that is removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield _open(f"sqlite:///{folder}/bench.db", f"sqlite:///{folder}/keystore.db")
        return
    name = f"callvault_bench_{secrets.token_hex(4)}"
    admin = create_engine(sqlalchemy_url(pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # the key store lives apart from the data, as in production
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}_keys"'))
    try:
        base = pg_url.rsplit("/", 1)[0]
        yield _open(f"{base}/{name}", f"{base}/{name}_keys")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}_keys" WITH (FORCE)'))
        admin.dispose()


def _open(url: str, keystore: str) -> Vault:
    engine = connect(url)
    migrate(engine)
    engine.dispose()
    return Vault.open(url, master_key=MasterKey(new_key(), source="bench"), keystore=keystore)


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def interleaved(
    ours: Sequence[Callable[[], object]],
    raw: Sequence[Callable[[], object]],
    *,
    settle: Callable[[], object] = lambda: None,
    close: Callable[[], object] = lambda: None,
) -> tuple[float, float]:
    """Time ``ours[i]`` and ``raw[i]`` in round ``i``, alternating which goes first, and return
    each side's median part time multiplied by the number of rounds (for :func:`report`).

    A part's time is its wall time less the time this thread waited for a CPU that other processes
    held (:func:`waited`): on the shared machine that wait, not the work, is what swings. Both
    sides see the same moments: what the wait leaves of a burst of other work falls into a part or
    two of each side, which the median drops. Before each part, ``settle`` (untimed) and a garbage
    collection of what the previous part left; ``close`` ends each part on its clock (e.g. a
    checkpoint of what the part wrote), so each side pays for its own work, never the other's.
    """
    if len(ours) != len(raw) or not ours:
        raise ValueError("one part of each side per round")
    times: tuple[list[float], list[float]] = ([], [])
    for i, parts in enumerate(zip(ours, raw, strict=True)):
        for side in (0, 1) if i % 2 == 0 else (1, 0):
            settle()
            gc.collect()
            start, wait = time.perf_counter(), waited()
            parts[side]()
            close()
            times[side].append(time.perf_counter() - start - (waited() - wait))
    return statistics.median(times[0]) * len(ours), statistics.median(times[1]) * len(raw)


def waited() -> float:
    """Seconds this thread has spent runnable but waiting for a CPU (Linux schedstat; 0 where it
    is not kept): time taken by other processes, not by the work timed. Not the time it slept on
    I/O (an fsync) or on another process (the PostgreSQL server): that is the work's."""
    try:
        with open("/proc/thread-self/schedstat") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def report(label: str, backend: str, units: str, count: int, ours: float, raw: float) -> None:
    """One line: callvault's rate beside the raw baseline's, and the ratio of their times."""
    print(
        f"{label:<28} {backend:<10} callvault {count / ours:>12,.0f} {units}/s   "
        f"raw {count / raw:>12,.0f} {units}/s   ratio {ours / raw:5.2f}"
    )


def backends(choice: str) -> list[str]:
    return ["sqlite", "postgresql"] if choice == "both" else [choice]
