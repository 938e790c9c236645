"""Benchmark consent: giving it (the act and its audit entry), and callvault's consent_state (what the
processing gate asks per decision) beside a raw SELECT of the same row through the database driver,
on SQLite and PostgreSQL.

    .venv/bin/python bench/consent.py [--rows N] [--rounds R] [--backend sqlite|postgresql|both]
                                      [--pg URL]

The baseline of giving consent is a raw transaction through the driver writing the same rows an act
writes: the consent record, its first event, the audit entry and the move of the audit chain's
head, into plain tables with the same columns and the same lookup index. (The old baseline, one
one-column INSERT per transaction, measured a quarter of the rows: an act must keep its record,
its history and its audit entry, committed together, Art. 7(1) and Art. 5(2).) The raw side does
no reads: callvault also checks the tenant, finds the subject and reads the current state.

Each side first does 500 acts untimed, on subjects and rows of their own: callvault's first act in
a process compiles the notice's template (the record binds the notice's hash; it is then kept per
policy and tenant profile) and its statements, about 20 ms once per process; the raw side's first
act prepares its statements in the driver. On PostgreSQL the tables are then analyzed, as
autovacuum does within a minute of such writes: plans made while the tables were empty stay in
the connection (the statements' own, the foreign-key checks'), and without the ANALYZE the time of
callvault's two statements per act grew threefold over 4,000 acts, the raw side's (plain INSERTs,
no foreign keys) not at all. The timed acts thus start on tables that hold records and have
statistics, as in a vault in use.

How the two sides are timed (the machine is shared and noisy; both sides are treated alike):

- What made the rates swing was measured per part: wall time, CPU time, this thread's run-queue
  wait (/proc/thread-self/schedstat) and the system's CPU pressure (/proc/pressure/cpu). Under
  load, a part's wall time was up to 3.6 times its CPU time, the excess going with the CPU
  pressure: the process was runnable but waiting for a CPU other work held, for tenths of a second
  at a time. One side timed whole, after the other, got such a stretch or did not (the raw side
  went from 7,076 to 2,137 acts/s between runs, ratios from 0.69 to 2.80). The CPU time of the
  same part moved too (up to 1.7 times between rounds of one run: the host's other work), on
  both sides alike when they take turns often.
- So a part's time is its wall time less that run-queue wait (``_common.waited``), and the acts
  (4,000 by default) and the checks are cut into ``--rounds`` parts per side (32), timed in
  turn, the first of each round's two alternating; the rates and the ratio are those of each
  side's median part. (16 rounds: ratios 1.92 to 2.46 over five runs; 32: 1.92 to 2.07.)
- SQLite's WAL checkpoints (an act writes about 9 pages on either side, the WAL is checkpointed
  each 1,000 pages, about 4 ms each on this disk) fall on the commit that crosses the limit, with
  the other side's pages in them: before each part the WAL is emptied, untimed, and each part ends
  with a checkpoint on its own clock, so each side pays for writing back its own pages, no more.
  (They cost both sides alike: they were not the swing.)
- The setup leaves about 100,000 objects; they are collected and frozen (``gc.freeze``) before
  timing, so that no collection in the timed work walks them (a full one costs tens of
  milliseconds, in whichever part triggers it), and each part starts after a collection of what
  the part before it left.

The baseline of the consent check is the same SELECT through the driver, its timestamps read as
datetimes (sqlite3 returns text; a decision on expiry compares times): the old baseline skipped that.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Column, Index, MetaData, Table

sys.path.insert(0, str(Path(__file__).parent))
from _common import arguments, backends, interleaved, report, scratch_vault

from callvault.consent.acts import consent_state, give_consent
from callvault.store.schema.consent import consent_events, consent_records
from callvault.store.schema.core import audit_heads, audit_log
from callvault.subjects.directory import create_subject
from callvault.tenants import add_tenant
from callvault.vault import Vault

T = TypeVar("T")
WARM = 500  # untimed acts per side before the timed ones (see the docstring)

RAW = (
    "SELECT record_id, state, state_at, expires_at, purpose_fingerprint, created_at "
    "FROM consent_records WHERE tenant_id = {p} AND subject_id = {p} AND purpose = {p} "
    "AND created_at <= {p} ORDER BY created_at DESC LIMIT 1"
)


raw_meta = MetaData()


def _plain(table: Table, *indexes: Index) -> Table:
    """A plain table with ``table``'s columns and key (no foreign keys, no types of callvault's)."""
    columns = [Column(c.name, c.type, primary_key=c.primary_key) for c in table.columns]
    return Table(f"raw_{table.name}", raw_meta, *columns, *indexes)


RAW_TABLES = (
    _plain(
        consent_records, Index("ix_raw_consent", "tenant_id", "subject_id", "purpose", "created_at")
    ),
    _plain(consent_events),
    _plain(audit_log),
)
_plain(audit_heads)


def parts(
    items: Sequence[T], rounds: int, work: Callable[[Sequence[T]], object]
) -> list[Callable[[], object]]:
    """``work`` over ``items``, cut into ``rounds`` parts of (nearly) equal size."""
    size, extra = divmod(len(items), rounds)
    bounds = [i * size + min(i, extra) for i in range(rounds + 1)]
    return [partial(work, items[a:b]) for a, b in pairwise(bounds)]


def checkpoint(vault: Vault, mode: str) -> None:
    """SQLite: checkpoint the WAL (``TRUNCATE``: empty it; ``PASSIVE``: as the automatic one)."""
    if vault.engine.dialect.name == "sqlite":
        driver = vault.engine.raw_connection()
        try:
            driver.cursor().execute(f"PRAGMA wal_checkpoint({mode})")
        finally:
            driver.close()


def _insert_sql(table: Table, p: str) -> str:
    names = [c.name for c in table.columns]
    return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([p] * len(names))})"


def raw_act(backend: str, n: int, at: datetime) -> list[tuple[str, tuple[object, ...]]]:
    """The statements of one consent act's rows, with their values, for the driver."""
    p, record, when = _p(backend), f"{n:032x}", at.replace(tzinfo=None)
    records, events, log = RAW_TABLES
    return [
        (_insert_sql(records, p), ("acme", record, f"{n:032x}", "personalisation", "1",
                                   "h" * 64, "f" * 64, "cli", "subject:x", "given", when, when,
                                   None)),
        (_insert_sql(events, p), ("acme", record, 1, "given", when, "subject:x", "cli", "1")),
        (_insert_sql(log, p), ("acme", n + 1, when, "subject:x", "consent.give", "personalisation",
                               "consent", record, '["call_history"]', "ok", None,
                               '{"record": "x"}', "0" * 64, "1" * 64)),
        (f"UPDATE raw_audit_heads SET seq = {p}, hash = {p} WHERE tenant_id = {p}",
         (n + 1, "1" * 64, "acme")),
    ]  # fmt: skip


def bench(backend: str, rows: int, rounds: int, pg: str) -> None:
    with scratch_vault(backend, pg) as vault:
        try:
            _bench(vault, backend, rows, rounds)
        finally:
            gc.unfreeze()
            vault.close()


def _bench(vault: Vault, backend: str, rows: int, rounds: int) -> None:
    add_tenant(vault, "acme", name="Acme", collect=["name", "email", "call_history"])
    start = datetime.now(UTC) - timedelta(days=1)
    with vault.transaction() as conn:
        ids = [
            create_subject(
                vault, conn, "acme", kind="user", values={"email": [f"p{i}@acme.dk"]}, now=start
            )
            for i in range(rows)
        ]
    given = ids[: rows // 2]  # half consented, half never asked: both paths are measured
    with vault.transaction() as conn:  # the untimed acts' subjects (see the docstring)
        warm = [
            create_subject(
                vault, conn, "acme", kind="user", values={"email": [f"w{i}@acme.dk"]}, now=start
            )
            for i in range(WARM)
        ]

    def ours_give(subjects: Sequence[str]) -> None:
        for subject_id in subjects:
            give_consent(
                vault,
                "acme",
                subject_id,
                "personalisation",
                actor=f"subject:{subject_id}",
                at=start,
            )

    def raw_give(acts: Sequence[list[tuple[str, tuple[object, ...]]]]) -> None:
        for statements in acts:  # the same rows, each act its own transaction
            with vault.engine.begin() as conn:
                cursor = conn.connection.cursor()
                for sql, values in statements:
                    cursor.execute(sql, values)

    raw_meta.create_all(vault.engine)
    with vault.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO raw_audit_heads VALUES ('acme', 0, '0')")
    ours_give(warm)  # the untimed acts (see the docstring)
    raw_give([raw_act(backend, len(given) + i, start) for i in range(WARM)])
    if backend == "postgresql":  # as autovacuum would have (see the docstring)
        with vault.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    acts = [raw_act(backend, i, start) for i, _ in enumerate(given)]
    gc.collect()
    gc.freeze()  # the setup's objects are never walked again (see the docstring)
    ours, raw = interleaved(
        parts(given, rounds, ours_give),
        parts(acts, rounds, raw_give),
        settle=lambda: checkpoint(vault, "TRUNCATE"),
        close=lambda: checkpoint(vault, "PASSIVE"),
    )
    report("give consent (+audit)", backend, "acts", len(given), ours, raw)

    purpose, version, now = (
        vault.policy.purposes["personalisation"],
        vault.policy.version,
        (datetime.now(UTC)),
    )
    probes = (ids * (1 + 20000 // max(rows, 1)))[:20000]

    def ours_check(subjects: Sequence[str]) -> None:
        with vault.engine.connect() as conn:
            for subject_id in subjects:
                consent_state(conn, "acme", subject_id, purpose, version, now)

    naive = now.astimezone(UTC).replace(tzinfo=None)
    sql = RAW.format(p=_p(backend))
    parse = backend == "sqlite"  # psycopg returns datetimes already; sqlite3 returns text

    def raw_check(subjects: Sequence[str]) -> None:  # the timestamps read as datetimes, as needed
        with vault.engine.connect() as conn:
            cursor = conn.connection.cursor()
            for subject_id in subjects:
                cursor.execute(sql, ("acme", subject_id, "personalisation", naive))
                row = cursor.fetchone()
                if row and parse:
                    _ = [datetime.fromisoformat(v) for v in (row[2], row[3], row[5]) if v]

    valid = 0
    with vault.engine.connect() as conn:
        for subject_id in ids:
            valid += consent_state(conn, "acme", subject_id, purpose, version, now).valid
    assert valid == len(given), (valid, len(given))
    ours, raw = interleaved(parts(probes, rounds, ours_check), parts(probes, rounds, raw_check))
    report("consent_state check", backend, "checks", len(probes), ours, raw)


def _p(backend: str) -> str:
    return "?" if backend == "sqlite" else "%s"


def main() -> None:
    args = arguments(__doc__ or "", rows=8000, rounds=32)
    for backend in backends(args.backend):
        bench(backend, args.rows, args.rounds, args.pg)


if __name__ == "__main__":
    main()
