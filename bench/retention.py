"""Benchmark retention: N expired call records among 2N, ``run_retention`` against a raw baseline that
writes the same statistics with one INSERT ... SELECT and deletes the same rows with one DELETE.

    .venv/bin/python bench/retention.py [--rows N] [--backend sqlite|postgresql|both] [--pg URL]

``--rows`` is N, the expired records (default 200,000; the issue's figure is 1,000,000).
"""

from __future__ import annotations

import os
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, delete, func, insert, select, text

sys.path.insert(0, str(Path(__file__).parent))
from _common import arguments, backends, report, scratch_vault, timed

from callvault.retention.run import run_retention
from callvault.store.schema.core import UTCDateTime, calls
from callvault.store.schema.retention import billing_records
from callvault.store.schema.statistics import call_statistics
from callvault.subjects.directory import create_subject
from callvault.tenants import add_tenant
from callvault.vault import Vault

AS_OF = datetime(2027, 1, 1, tzinfo=UTC)
EXPIRED_FROM = datetime(2026, 1, 1, tzinfo=UTC)  # past P90D at AS_OF
FRESH_FROM = datetime(2026, 12, 1, tzinfo=UTC)  # within it
KINDS = [("outbound", "answered"), ("inbound", "answered"), ("inbound", "no_answer")]

RAW_STATS = """
INSERT INTO call_statistics
    (tenant_id, bucket_start, direction, outcome, calls, subjects, duration_s, billsec_s)
SELECT tenant_id, {bucket}, direction, outcome, count(*),
       {greatest}(count(DISTINCT caller_subject_id), count(DISTINCT callee_subject_id)),
       sum((duration_s + 5) / 10 * 10), sum((billsec_s + 5) / 10 * 10)
FROM calls WHERE tenant_id = 'acme' AND started_at < :cutoff
GROUP BY tenant_id, {bucket}, direction, outcome
"""
RAW_BILLING = """
INSERT INTO billing_records
    (tenant_id, record_id, call_date, billsec_s, payer_subject_id, created_at)
SELECT tenant_id, {surrogate}, {day}, billsec_s, caller_subject_id, :cutoff
FROM calls WHERE tenant_id = 'acme' AND started_at < :cutoff
    AND direction = 'outbound' AND outcome = 'answered' AND billsec_s > 0
"""
SQL = {
    "sqlite": {
        "bucket": "strftime('%Y-%m-%d %H:00:00.000000', started_at)",
        "greatest": "max",
        "surrogate": "lower(hex(randomblob(16)))",
        "day": "date(started_at)",
    },
    "postgresql": {
        "bucket": "date_trunc('hour', started_at)",
        "greatest": "greatest",
        "surrogate": "replace(CAST(gen_random_uuid() AS TEXT), '-', '')",
        "day": "CAST(started_at AS DATE)",
    },
}


def parties(vault: Vault) -> list[tuple[str, str]]:
    """A few subjects: 20 users and 200 external callers (bulk work is about calls, not people)."""
    now = datetime.now(UTC)
    with vault.transaction() as conn:
        users = [
            create_subject(
                vault, conn, "acme", kind="user", values={"extension": [f"{200 + i}"]}, now=now
            )
            for i in range(20)
        ]
        externals = [
            create_subject(
                vault, conn, "acme", kind="external", values={"phone": [f"+4580{i:06d}"]}, now=now
            )
            for i in range(200)
        ]
    return [(e, users[i % 20]) for i, e in enumerate(externals)]


def populate(vault: Vault, n: int, pairs: list[tuple[str, str]]) -> None:
    """2n calls (n expired, n fresh) in bulk inserts with random surrogate ids."""
    now = datetime.now(UTC)
    for start in (EXPIRED_FROM, FRESH_FROM):
        for begin in range(0, n, 10_000):
            rows = []
            for i in range(begin, min(n, begin + 10_000)):
                at = start + timedelta(seconds=10 * i)
                direction, outcome = KINDS[i % 3]
                external, user = pairs[i % len(pairs)]
                caller, callee = (user, external) if direction == "outbound" else (external, user)
                rows.append(
                    {
                        "tenant_id": "acme",
                        "call_id": os.urandom(16).hex(),
                        "source_key": os.urandom(16),
                        "linked_key": None,
                        "started_at": at,
                        "answered_at": at if outcome == "answered" else None,
                        "ended_at": at,
                        "duration_s": random.randint(5, 900),
                        "billsec_s": random.randint(1, 800) if outcome == "answered" else 0,
                        "direction": direction,
                        "outcome": outcome,
                        "caller_subject_id": caller,
                        "callee_subject_id": callee,
                        "created_at": now,
                    }
                )
            with vault.transaction() as conn:
                conn.execute(insert(calls), rows)
    with vault.engine.begin() as conn:  # planner statistics, as a live database has them
        conn.exec_driver_sql("ANALYZE")


def reset(vault: Vault) -> None:
    with vault.transaction() as conn:
        for table in (calls, call_statistics, billing_records):
            conn.execute(delete(table))


def statistics_total(vault: Vault) -> int:
    with vault.engine.connect() as conn:
        return int(conn.scalar(select(func.coalesce(func.sum(call_statistics.c.calls), 0))))


def raw_baseline(vault: Vault, backend: str, billing: bool) -> None:
    """One INSERT ... SELECT of the statistics (and, for the same work, of the billing subset),
    one DELETE of the expired rows, in one transaction."""
    cutoff = AS_OF - timedelta(days=90)
    statements = [RAW_STATS] + ([RAW_BILLING] if billing else [])
    with vault.engine.begin() as conn:
        if backend == "sqlite":  # the same page cache as retention's connection: a fair baseline
            conn.exec_driver_sql("PRAGMA cache_size=-65536")
        for sql in statements:
            statement = text(sql.format(**SQL[backend]))
            conn.execute(
                statement.bindparams(bindparam("cutoff", type_=UTCDateTime)), {"cutoff": cutoff}
            )
        conn.execute(delete(calls).where(calls.c.tenant_id == "acme", calls.c.started_at < cutoff))


def bench(backend: str, n: int, pg: str) -> None:
    with scratch_vault(backend, pg) as vault:
        add_tenant(vault, "acme", name="Acme", collect=["name", "phone", "call_history"])
        pairs = parties(vault)
        populate(vault, n, pairs)
        ours = timed(lambda: run_retention(vault, as_of=AS_OF))
        counted = statistics_total(vault)
        assert counted == n, (counted, n)
        for label, billing in (("stats+delete", False), ("stats+billing+delete", True)):
            reset(vault)
            populate(vault, n, pairs)
            raw = timed(lambda billing=billing: raw_baseline(vault, backend, billing))
            assert statistics_total(vault) == n
            report(f"retention vs {label}", backend, "calls", n, ours, raw)


def main() -> None:
    args = arguments(__doc__ or "", 200_000)
    print(f"retention: {args.rows:,} expired call records among {2 * args.rows:,}")
    for backend in backends(args.backend):
        bench(backend, args.rows, args.pg)


if __name__ == "__main__":
    main()
