"""Benchmark retention: N expired call records among 2N, ``run_retention`` against a raw baseline.

    .venv/bin/python bench/retention.py [--rows N] [--backend sqlite|postgresql|both] [--pg URL]
                                        [--repeat R]

``--rows`` is N, the expired records: by default the issue's 1,000,000 among 2,000,000 (``make
bench``); ``--rows 200000`` gives the figures measured before. ``--repeat`` runs R rounds and
prints the median of each side (the machine is shared; compare ratios of the same run).

**The like-for-like baseline is "stats+billing+delete"**, the line the aim (ratio <= 1.3) is judged
against. In one transaction of plain SQL it writes the rows callvault must write for the expired
calls: their statistics cells (one INSERT ... SELECT), the billing subset the policy keeps under
the Bookkeeping Act's legal hold (outbound, answered, billed calls: a second INSERT ... SELECT, a
third of the calls here) and the deletion of the calls (one DELETE). "stats+delete" is still
printed, for comparison with earlier figures, but it is not like for like: it leaves out the
billing rows callvault is obliged to write, so its ratio overstates callvault's cost.

What callvault does beyond that is its privacy work, counted against it: each cell's population
is the number of distinct *users* among its parties (each party's kind looked up; the baseline
takes the larger count of distinct callers or callees, with no lookup), cells of fewer than k
people are deleted, the external parties of the deleted calls are checked for shredding, each
batch of 250,000 calls is a transaction of its own with its audit entry, the run is recorded, and
on SQLite deleted content is zeroed (``secure_delete``). The baseline is given the same SQLite
page cache as callvault's retention connection.

The vault is populated once (the driver's bulk paths, not timed; ``VACUUM ANALYZE`` on PostgreSQL
and ``ANALYZE`` on SQLite, as a live database has its planner statistics and, for months-old rows,
its visibility map) and each run, callvault's or a baseline's, starts from a copy of it (a file
copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL), so all change the same rows of
the same database.

``run_retention`` runs in a child process of its own (bench/_child.py), which reports its peak
resident memory: the aim is under 300 MB for 1,000,000 expired calls.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, create_engine, delete, func, select, text

sys.path.insert(0, str(Path(__file__).parent))
from _child import in_child
from _common import DEFAULT_PG, backends, report, timed

from callvault.collection.ingest.bulk import insert_rows, time_encoder
from callvault.crypto.master_key import MasterKey
from callvault.crypto.primitives import new_key
from callvault.retention.run import run_retention
from callvault.store import connect, migrate, sqlalchemy_url
from callvault.store.schema.core import UTCDateTime, calls
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
    # Planner statistics, as a live database has them; on PostgreSQL also the visibility map that
    # autovacuum has long set on months-old rows (without, the first reader of each page pays for
    # setting its hint bits, and no index-only scan is possible).
    autocommit = vault.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with autocommit as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE")


def check(url: str, keystore: str, key: bytes, n: int) -> None:
    """The run did the work: every expired call counted in the statistics, none left."""
    vault = _vault(url, keystore, key)
    try:
        with vault.engine.connect() as conn:
            counted = conn.scalar(select(func.coalesce(func.sum(call_statistics.c.calls), 0)))
            left = conn.scalar(select(func.count()).select_from(calls))
    finally:
        vault.close()
    assert (counted, left) == (n, n), (counted, left, n)


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


class Scratch:
    """A migrated vault (its data database and key store) populated once, and fresh copies of it.

    Every run starts from a copy of the same populated state: a file copy on SQLite (the source
    closed, so its WAL is checkpointed into the file), ``CREATE DATABASE ... TEMPLATE`` on
    PostgreSQL. Populating 2,000,000 calls once instead of once per run, and no run works on the
    dead rows or the free pages of another.
    """

    def __init__(self, backend: str, pg_url: str, folder: str) -> None:
        self.backend, self.folder = backend, folder
        self.pg_base = pg_url.rsplit("/", 1)[0]
        self.name = f"callvault_bench_{secrets.token_hex(4)}"
        self.copies: list[str] = []
        self.admin = create_engine(sqlalchemy_url(pg_url), isolation_level="AUTOCOMMIT")
        self.url, self.keystore = self._urls(self.name)
        if backend == "postgresql":
            self._admin(f'CREATE DATABASE "{self.name}"')
        _migrate(self.url)

    def _urls(self, name: str) -> tuple[str, str]:
        keystore = f"sqlite:///{self.folder}/{name}.keys.db"
        if self.backend == "sqlite":
            return f"sqlite:///{self.folder}/{name}.db", keystore
        return f"{self.pg_base}/{name}", keystore

    def _admin(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(sql))

    def fresh(self) -> tuple[str, str]:
        """The URLs of a new copy of the populated vault (the previous copy is removed first:
        at 2,000,000 calls a SQLite copy is a gigabyte)."""
        self._drop_copies()
        name = f"{self.name}_{len(self.copies) + 1}"
        self.copies.append(name)
        url, keystore = self._urls(name)
        _copy_file(f"{self.folder}/{self.name}.keys.db", f"{self.folder}/{name}.keys.db")
        if self.backend == "sqlite":
            _copy_file(f"{self.folder}/{self.name}.db", f"{self.folder}/{name}.db")
        else:  # FILE_COPY: the files as they are, then a checkpoint (no gigabyte of WAL)
            self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}" STRATEGY FILE_COPY')
        return url, keystore

    def _drop_copies(self) -> None:
        for name in self.copies:
            for suffix in (".keys.db", ".db"):
                for extra in ("", "-wal", "-shm"):
                    Path(f"{self.folder}/{name}{suffix}{extra}").unlink(missing_ok=True)
            if self.backend == "postgresql":
                self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self._drop_copies()
        if self.backend == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.dispose()


def _copy_file(source: str, target: str) -> None:
    """Copy and fsync, so that writing the copy back does not fall into the timed run."""
    shutil.copyfile(source, target)
    with open(target, "rb+") as copied:
        os.fsync(copied.fileno())


def raw_run(url: str, keystore: str, key: bytes, backend: str, billing: bool) -> float:
    """The raw baseline timed, on the same engine configuration as callvault's."""
    vault = _vault(url, keystore, key)
    try:
        return timed(lambda: raw_baseline(vault, backend, billing))
    finally:
        vault.close()


@contextmanager
def scratch(backend: str, pg_url: str) -> Iterator[Scratch]:
    with tempfile.TemporaryDirectory() as folder:
        state = Scratch(backend, pg_url, folder)
        try:
            yield state
        finally:
            state.close()


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


def bench(backend: str, n: int, pg: str, repeat: int) -> None:
    key = new_key()
    with scratch(backend, pg) as state:
        vault = _vault(state.url, state.keystore, key)
        try:
            add_tenant(vault, "acme", name="Acme", collect=["name", "phone", "call_history"])
            populate(vault, n, parties(vault))
        finally:
            vault.close()  # SQLite: the WAL is checkpointed into the file that is copied
        runs: dict[str, list[float]] = {
            "callvault": [],
            "stats+delete": [],
            "stats+billing+delete": [],
        }
        peaks, cpus = [], []
        for _ in range(repeat):  # each round: callvault, then each baseline, each on a fresh copy
            url, keystore = state.fresh()
            ours, peak_mb, cpu_s = in_child(retention_child, url, keystore, key)
            check(url, keystore, key, n)
            runs["callvault"].append(ours)
            peaks.append(peak_mb)
            cpus.append(cpu_s)
            for label in ("stats+delete", "stats+billing+delete"):
                url, keystore = state.fresh()
                runs[label].append(raw_run(url, keystore, key, backend, "billing" in label))
                check(url, keystore, key, n)
        ours = statistics.median(runs["callvault"])
        print(
            f"retention {backend:<10} peak RSS {max(peaks):.0f} MB, client CPU "
            f"{statistics.median(cpus):.1f} s ({n:,} expired calls"
            + (f", median of {repeat} runs)" if repeat > 1 else ")")
        )
        for label in ("stats+delete", "stats+billing+delete"):
            raw = statistics.median(runs[label])
            report(f"retention vs {label}", backend, "calls", n, ours, raw)


def _arguments() -> argparse.Namespace:
    """bench/_common.py's options (--rows, --pg, --backend), and --repeat."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("CALLVAULT_TEST_PG", DEFAULT_PG))
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; each figure their median")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    print(f"retention: {args.rows:,} expired call records among {2 * args.rows:,}")
    for backend in backends(args.backend):
        bench(backend, args.rows, args.pg, args.repeat)


if __name__ == "__main__":
    main()
