"""Benchmark retention: N expired call records among 2N, ``run_retention`` against a raw baseline.

    .venv/bin/python bench/retention.py [--rows N] [--backend sqlite|postgresql|both] [--pg URL]

``--rows`` is N, the expired records (default 200,000; the issue's figure is 1,000,000).

The baseline writes the same rows callvault must write, with plain SQL in one transaction: the
statistics with one INSERT ... SELECT, **the billing subset** (outbound, answered, billed calls:
the Bookkeeping Act's legal hold, with its foreign key to the paying user checked) with a second,
and deletes the expired calls with one DELETE. Without the billing copy ("stats+delete", printed
for comparison with earlier figures) the baseline skipped a third of the rows callvault is obliged
to write, which made that ratio unfair (issue 17 allows the baseline to be changed to do the same
rows); the aim is judged against "stats+billing+delete".

``run_retention`` runs in a child process of its own (bench/_child.py), which reports its peak
resident memory: the aim is under 300 MB for 1,000,000 expired calls. The rows are loaded with
the driver's bulk paths (not timed).
"""

from __future__ import annotations

import os
import random
import secrets
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, create_engine, delete, func, select, text

sys.path.insert(0, str(Path(__file__).parent))
from _child import in_child
from _common import arguments, backends, report, timed

from callvault.collection.ingest.bulk import insert_rows, time_encoder
from callvault.crypto.master_key import MasterKey
from callvault.crypto.primitives import new_key
from callvault.retention.run import run_retention
from callvault.store import connect, migrate, sqlalchemy_url
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


COLUMNS = (
    "tenant_id", "call_id", "source_key", "linked_key", "started_at", "answered_at", "ended_at",
    "duration_s", "billsec_s", "direction", "outcome", "caller_subject_id", "callee_subject_id",
    "created_at",
)  # fmt: skip


def populate(vault: Vault, n: int, pairs: list[tuple[str, str]]) -> None:
    """2n calls (n expired, n fresh) in bulk inserts with random surrogate ids."""
    with vault.transaction() as conn:
        encode = time_encoder(conn)
        now = encode(datetime.now(UTC))
        for start in (EXPIRED_FROM, FRESH_FROM):
            for begin in range(0, n, 10_000):
                rows = []
                for i in range(begin, min(n, begin + 10_000)):
                    at = encode(start + timedelta(seconds=10 * i))
                    direction, outcome = KINDS[i % 3]
                    external, user = pairs[i % len(pairs)]
                    caller, callee = (
                        (user, external) if direction == "outbound" else (external, user)
                    )
                    answered = outcome == "answered"
                    rows.append(
                        ("acme", os.urandom(16).hex(), os.urandom(16), None, at,
                         at if answered else None, at, random.randint(5, 900),
                         random.randint(1, 800) if answered else 0, direction, outcome, caller,
                         callee, now)
                    )  # fmt: skip
                insert_rows(conn, calls, COLUMNS, rows)
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


@contextmanager
def scratch(backend: str, pg_url: str) -> Iterator[tuple[str, str]]:
    """The URLs of a migrated, empty vault and of its key store, removed afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        keystore = f"sqlite:///{folder}/keystore.db"
        if backend == "sqlite":
            url = f"sqlite:///{folder}/bench.db"
            _migrate(url)
            yield url, keystore
            return
        name = f"callvault_bench_{secrets.token_hex(4)}"
        admin = create_engine(sqlalchemy_url(pg_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = f"{pg_url.rsplit('/', 1)[0]}/{name}"
            _migrate(url)
            yield url, keystore
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _migrate(url: str) -> None:
    engine = connect(url)
    migrate(engine)
    engine.dispose()


def _vault(url: str, keystore: str, key: bytes) -> Vault:
    return Vault.open(url, master_key=MasterKey(key, source="bench"), keystore=keystore)


def retention_child(url: str, keystore: str, key: bytes) -> float:
    """``run_retention`` timed, in a child process of its own (its peak RSS is reported)."""
    vault = _vault(url, keystore, key)
    try:
        return timed(lambda: run_retention(vault, as_of=AS_OF))
    finally:
        vault.close()


def bench(backend: str, n: int, pg: str) -> None:
    key = new_key()
    with scratch(backend, pg) as (url, keystore):
        vault = _vault(url, keystore, key)
        try:
            add_tenant(vault, "acme", name="Acme", collect=["name", "phone", "call_history"])
            pairs = parties(vault)
            populate(vault, n, pairs)
            ours, peak_mb, cpu_s = in_child(retention_child, url, keystore, key)
            counted = statistics_total(vault)
            assert counted == n, (counted, n)
            print(
                f"retention {backend:<10} peak RSS {peak_mb:.0f} MB, client CPU {cpu_s:.1f} s "
                f"({n:,} expired calls)"
            )
            for label, billing in (("stats+delete", False), ("stats+billing+delete", True)):
                reset(vault)
                populate(vault, n, pairs)
                raw = timed(lambda billing=billing: raw_baseline(vault, backend, billing))
                assert statistics_total(vault) == n
                report(f"retention vs {label}", backend, "calls", n, ours, raw)
        finally:
            vault.close()


def main() -> None:
    args = arguments(__doc__ or "", 200_000)
    print(f"retention: {args.rows:,} expired call records among {2 * args.rows:,}")
    for backend in backends(args.backend):
        bench(backend, args.rows, args.pg)


if __name__ == "__main__":
    main()
