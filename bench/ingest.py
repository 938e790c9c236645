"""Benchmark: ingesting Asterisk CDRs through the collection gate vs a raw-database baseline.

    .venv/bin/python bench/ingest.py [--rows N] [--pg URL] [--no-pg] [--no-sqlite] [--repeat R]

Generates ``--rows`` Asterisk ``cdr_csv`` records (21-column variant) for a tenant with 500 users and
50,000 external numbers; the default, 1,000,000, is the size issue 17 sets its aims at (a ratio of
1.5 or less, under 300 MB peak RSS). For each database (SQLite file, PostgreSQL in a database created and dropped here):

- **callvault**: ``ingest_calls`` (parse, gate, blind indexes, party resolution, external subjects
  with their own data keys, de-duplication, audit) into a fresh vault;
- **raw**: the same parser, then the same parsed rows inserted as they are (numbers in clear, no gate,
  no crypto, no party resolution, no de-duplication) in batches of 5,000 with DBAPI ``executemany``
  on SQLite and ``COPY`` on PostgreSQL (the raw paths callvault itself uses), in ONE transaction
  (``BEGIN`` ... ``COMMIT``, as the ingest: the vault's SQLite connections run the driver in
  autocommit mode, so without the explicit ``BEGIN`` every row of the baseline committed on its
  own, which made the baseline many times slower than a raw insert and the ratio meaningless),
  into ``raw_calls`` in the same database: a table shaped like the vault's ``calls`` (same primary
  key, secondary indexes and foreign key to ``tenants``), so that the ratio measures the gate and
  the crypto, not the schema.

Both figures include parsing the file. Both write each batch in a second thread while the next is
parsed (callvault's ``WriteBehind``; the baseline the same way, so that the overlap, which any
importer can have, is not counted as callvault's gain). The client CPU ratio is printed too.
Each side runs in a child process of its own, which reports its peak resident memory
(``VmHWM``, bench/_child.py), so that neither side's memory (nor the generator's) mixes into the
other's figure. Prints rows/s of each, the ratio (callvault time / raw time) and peak RSS.

On PostgreSQL each side starts after a ``CHECKPOINT`` (untimed): a million rows write about a
gigabyte of WAL, and a checkpoint the first side's WAL made due would otherwise fall into the
second side's time (the baseline's own time moved between 17 and 31 s from run to run).
``--repeat R`` runs the comparison R times, each on a fresh database, and prints the median ratio.
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
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
from _child import in_child

from callvault.collection.ingest.calls import SQLITE_CACHE, ingest_calls
from callvault.collection.parsers.asterisk_csv import parse
from callvault.collection.parsers.records import ParsedCall
from callvault.crypto.master_key import MasterKey
from callvault.crypto.primitives import new_key
from callvault.store import connect, sqlalchemy_url
from callvault.store.audit_chain import AuditEntry
from callvault.subjects.directory import create_subject
from callvault.tenants import add_tenant
from callvault.vault import Vault

USERS = 500
EXTERNALS = 50_000
BATCH = 5_000
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Master.csv with uniqueid, userfield, peeraccount, linkedid, sequence (21 columns)."""
    rng = random.Random(seed)
    exts = [str(1000 + i) for i in range(USERS)]
    externals = [f"+45{26000000 + i * 37:08d}" for i in range(EXTERNALS)]
    # Calls end two days before now: the gate refuses calls dated in the future (retention
    # counts from started_at). Wall-clock stepping: a span over the spring DST gap would be refused.
    latest = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=2, seconds=rows * 3)
    start = latest.replace(minute=0, second=0, microsecond=0)
    with path.open("w", encoding="utf-8", newline="") as out:
        for n in range(rows):
            kind = rng.random()
            ext = rng.choice(exts)
            if kind < 0.45:
                src, dst = rng.choice(externals), ext
                clid = f'"""Caller {n % 997}"" <{src}>"'
            elif kind < 0.85:
                src, dst = ext, rng.choice(externals)
                clid = f'"""User {ext}"" <{ext}>"'
            else:
                src, dst = ext, rng.choice(exts)
                clid = f'"""User {ext}"" <{ext}>"'
            at = start + timedelta(seconds=n * 3)
            answered = rng.random() < 0.8
            duration = rng.randint(5, 600)
            billsec = max(0, duration - 5) if answered else 0
            t0 = at.strftime("%Y-%m-%d %H:%M:%S")
            t1 = (at + timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S") if answered else ""
            t2 = (at + timedelta(seconds=duration)).strftime("%Y-%m-%d %H:%M:%S")
            uid = f"{1700000000 + n // 2}.{n}"
            linked = f"{1700000000 + n // 2}.{n - n % 2}"
            disposition = "ANSWERED" if answered else rng.choice(["NO ANSWER", "BUSY", "FAILED"])
            out.write(
                f'"","{src}","{dst}","from-internal",{clid},"PJSIP/{src}-{n:08x}",'
                f'"PJSIP/{dst}-{n:08x}","Dial","PJSIP/{dst},30",'
                f'"{t0}",{f"{chr(34)}{t1}{chr(34)}" if t1 else ""},"{t2}",{duration},{billsec},'
                f'"{disposition}","DOCUMENTATION","{uid}","","","{linked}",{n % 2 + 1}\n'
            )


def setup_tenant(vault: Vault) -> None:
    add_tenant(
        vault,
        "bench",
        name="Bench ApS",
        collect=["name", "email", "phone", "call_history"],
    )
    now = datetime.now(UTC)
    with vault.transaction() as conn:
        for i in range(USERS):
            values = {
                "name": [f"User {i}"],
                "email": [f"user{i}@bench.dk"],
                "phone": [f"+4526{10000 + i:06d}"],
                "extension": [str(1000 + i)],
            }
            create_subject(vault, conn, "bench", kind="user", values=values, now=now)
        vault.audit(conn, "bench", AuditEntry(actor="bench", action="bench.setup"))


def run_callvault(vault: Vault, csv: Path) -> tuple[float, int]:
    began = time.perf_counter()
    report = ingest_calls(vault, "bench", csv, format="asterisk-csv")
    return time.perf_counter() - began, report.stored


# The baseline's table has the shape of the vault's ``calls`` (same key, secondary indexes and
# foreign key to tenants), but holds the parsed values as they are: source id and numbers in clear,
# no subjects, no crypto.
RAW_DDL = (
    "DROP TABLE IF EXISTS raw_calls",
    """CREATE TABLE raw_calls (
        tenant_id VARCHAR(64) NOT NULL, call_id VARCHAR(32) NOT NULL, source_id VARCHAR(64),
        linked_id VARCHAR(64), started_at TIMESTAMP NOT NULL, answered_at TIMESTAMP,
        ended_at TIMESTAMP, duration_s INTEGER, billsec_s INTEGER, caller VARCHAR(64),
        callee VARCHAR(64), outcome VARCHAR(12), PRIMARY KEY (tenant_id, call_id),
        FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id))""",
    "CREATE UNIQUE INDEX ux_raw_source ON raw_calls (tenant_id, source_id)",
    "CREATE INDEX ix_raw_started ON raw_calls (tenant_id, started_at)",
    "CREATE INDEX ix_raw_caller ON raw_calls (tenant_id, caller)",
    "CREATE INDEX ix_raw_callee ON raw_calls (tenant_id, callee)",
)


def _naive(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=None) if moment is not None else None


def run_raw(url: str, csv: Path) -> tuple[float, int]:
    """The same parser, then the parsed rows inserted as they are, each batch written in a second
    thread while the next is parsed (as callvault's ``WriteBehind`` does)."""
    engine = connect(url)  # the vault's own connection settings (SQLite pragmas: WAL, FKs on)
    marker = "?" if engine.dialect.name == "sqlite" else "%s"
    statement = f"INSERT INTO raw_calls VALUES ({', '.join([marker] * 12)})"
    with engine.begin() as conn:
        for ddl in RAW_DDL:
            conn.execute(text(ddl))
    began = time.perf_counter()
    stored = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute(f"PRAGMA cache_size={SQLITE_CACHE}")  # the page cache the ingest sets
            cursor.execute("BEGIN")  # one transaction, as the ingest (the driver autocommits)
        with csv.open("rb") as stream, ThreadPoolExecutor(max_workers=1) as writer:
            batch: list[tuple[object, ...]] = []
            pending: Future[None] | None = None
            for record in parse(stream):
                assert isinstance(record, ParsedCall)
                stored += 1
                batch.append(_raw_row(stored, record))
                if len(batch) >= BATCH:
                    if pending is not None:
                        pending.result()
                    pending = writer.submit(_write, cursor, statement, batch)
                    batch = []
            if pending is not None:
                pending.result()
            if batch:
                _write(cursor, statement, batch)
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return time.perf_counter() - began, stored


def _write(cursor: Any, statement: str, batch: list[tuple[object, ...]]) -> None:
    """executemany on SQLite; COPY on PostgreSQL (its fastest raw path, as callvault uses)."""
    if not hasattr(cursor, "copy"):
        cursor.executemany(statement, batch)
        return
    with cursor.copy("COPY raw_calls FROM STDIN") as copy:
        for row in batch:
            copy.write_row(row)


def _raw_row(n: int, r: ParsedCall) -> tuple[object, ...]:
    return (
        "bench", f"{n:032x}", r.source_id, r.linked_id, _naive(r.started_at),
        _naive(r.answered_at), _naive(r.ended_at), r.duration_s, r.billsec_s, r.caller,
        r.callee, r.outcome,
    )  # fmt: skip


def _open(url: str, keystore: str, key: bytes, *, create: bool = False) -> Vault:
    return Vault.open(
        url, master_key=MasterKey(key, source="bench"), create=create, keystore=keystore
    )


def _child_callvault(url: str, keystore: str, key: bytes, csv: Path) -> tuple[float, int]:
    vault = _open(url, keystore, key)
    try:
        return run_callvault(vault, csv)
    finally:
        vault.close()


def checkpoint(url: str) -> None:
    """PostgreSQL: write out what is dirty now, so that the next side pays for its own WAL only."""
    if not url.startswith("postgresql"):
        return
    engine = create_engine(sqlalchemy_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CHECKPOINT"))
    engine.dispose()


def compare(label: str, url: str, keystore: str, csv: Path) -> float:
    """One comparison on a fresh database; prints its line, returns the ratio."""
    key = new_key()
    vault = _open(url, keystore, key, create=True)
    try:
        setup_tenant(vault)  # not timed: the tenant, its 500 users and the schema
    finally:
        vault.close()
    checkpoint(url)
    (raw_s, raw_n), raw_mb, raw_cpu = in_child(run_raw, url, csv)
    checkpoint(url)
    (cv_s, cv_n), cv_mb, cv_cpu = in_child(_child_callvault, url, keystore, key, csv)
    print(
        f"{label:10} rows={cv_n:>9,}  callvault {cv_n / cv_s:>9,.0f} rows/s ({cv_s:6.1f} s, "
        f"peak RSS {cv_mb:5.0f} MB)  raw {raw_n / raw_s:>9,.0f} rows/s ({raw_s:6.1f} s, "
        f"peak RSS {raw_mb:5.0f} MB)  ratio {cv_s / raw_s:4.2f}  "
        f"(client CPU {cv_cpu:.1f} s / {raw_cpu:.1f} s = {cv_cpu / raw_cpu:4.2f})"
    )
    sys.stdout.flush()
    return cv_s / raw_s


def with_pg_database(admin_url: str, csv: Path, keystore: str) -> float:
    admin = create_engine(sqlalchemy_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"callvault_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(sqlalchemy_url(admin_url)).set(database=name)
        return compare("postgresql", url.render_as_string(hide_password=False), keystore, csv)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="CDRs")
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL admin URL")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs; prints the median ratio")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="callvault-bench-") as tmp:
        csv = Path(tmp) / "Master.csv"
        began = time.perf_counter()
        generate(csv, args.rows)
        print(f"generated {args.rows:,} CDRs in {time.perf_counter() - began:.1f} s")
        ratios: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
        for run in range(args.repeat):
            if not args.no_sqlite:
                folder = Path(tmp) / f"sqlite-{run}"
                folder.mkdir()
                keys = f"sqlite:///{folder / 'keys.db'}"
                ratios["sqlite"].append(
                    compare("sqlite", f"sqlite:///{folder / 'vault.db'}", keys, csv)
                )
                shutil.rmtree(folder)  # two million rows: not kept past their run
            if not args.no_pg:  # the key store apart from the data, as in production
                keys = f"sqlite:///{Path(tmp) / f'pg-keys-{run}.db'}"
                ratios["postgresql"].append(with_pg_database(args.pg, csv, keys))
        for label, found in ratios.items():
            if len(found) > 1:
                print(
                    f"{label:10} median ratio of {len(found)} runs: {statistics.median(found):4.2f}"
                    f" ({', '.join(f'{r:.2f}' for r in found)})"
                )


if __name__ == "__main__":
    main()
