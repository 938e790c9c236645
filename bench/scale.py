"""Benchmark: 10 million calls across 50 tenants on PostgreSQL, beside the same paths at 1 million.

    .venv/bin/python bench/scale.py [--calls N] [--reference M] [--pg URL]

For each size (``--reference``, default 1,000,000, then ``--calls``, default 10,000,000) a fresh
PostgreSQL vault gets 50 tenants, their users and external callers (through the library: ``add_tenant``
and ``create_subject``, each subject with its own data key in the key store), then the call table:

- **loaded raw, not through the library**: the N calls are generated inside PostgreSQL with one
  ``INSERT ... SELECT generate_series`` per million, in the shape ``ingest_calls`` writes (random
  surrogate ids, a 16-byte source key, the parties' subject ids, no numbers), with the secondary
  indexes dropped during the load and rebuilt after it (what a bulk loader does); then ``VACUUM
  ANALYZE`` of the whole database, so that the planner knows every table (subjects included) as
  it knows a live one.
  Calls are spread evenly over the 91 days before now, so that one day of them is past the default
  policy's 90-day call-record period: the "one day's expiry".
- two subjects of tenant ``t00`` get a fixed 1,000 calls each at every size: the one read and the one
  erased, so that those paths touch the same rows however large the table is.

Then, each through the public API and timed:

- **ingest**: ``ingest_calls`` of the same 20,000 Asterisk CDRs into ``t00`` (gate, blind indexes,
  party resolution, new external subjects, de-duplication, audit): does ingest slow as the table grows?
- **read**: ``read_subject`` of the subject with 1,000 calls under its consented purpose (best of 3);
- **stats**: ``statistics`` of ``t00`` for one month, by day (best of 3); touches that month's calls,
  which grow with the table (N/50 x 30/91);
- **retention**: ``run_retention`` as of now: one day's calls (about N/91) anonymised into statistics
  and deleted;
- **erasure**: ``erase`` of the other subject with 1,000 calls.

The table prints each time at both sizes, the rows each path touched, and how much each grew: a path
that should scale with the rows it touches (read, erasure) must not grow with the table. Peak RSS of
this process is printed too. The databases are dropped afterwards.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from _common import DEFAULT_PG, scratch_vault

from callvault import (
    RetentionReport,
    Vault,
    Verification,
    add_tenant,
    erase,
    give_consent,
    ingest_calls,
    read_subject,
    run_retention,
    statistics,
)
from callvault.subjects.directory import create_subject

TENANTS = 50
USERS = 10  # per tenant; t00 has INGEST_USERS, the extensions the ingested CDRs dial
INGEST_USERS = 100
EXTERNALS = 20  # external callers per tenant
FIXED = 1_000  # calls of the subject read and of the subject erased, at every size
INGESTED = 20_000
CHUNK = 1_000_000
DAYS = 91
NOW = datetime.now(UTC).replace(microsecond=0)


def tenant(i: int) -> str:
    return f"t{i:02d}"


def people(vault: Vault) -> dict[str, str]:
    """50 tenants with their users and external callers, through the library; the two fixed
    subjects of t00."""
    for i in range(TENANTS):
        add_tenant(vault, tenant(i), name=f"Tenant {i} ApS",
                   collect=["name", "email", "phone", "call_history"])  # fmt: skip
        users = INGEST_USERS if i == 0 else USERS
        with vault.transaction() as conn:
            for u in range(users):
                values = {"name": [f"User {u}"], "email": [f"user{u}@t{i}.example"],
                          "extension": [str(1000 + u)]}  # fmt: skip
                create_subject(vault, conn, tenant(i), kind="user", values=values, now=NOW)
            for e in range(EXTERNALS):
                phone = f"+45{28100000 + i * 1000 + e}"
                create_subject(vault, conn, tenant(i), kind="external",
                               values={"phone": [phone]}, now=NOW)  # fmt: skip
    fixed = {}
    with vault.transaction() as conn:
        for role in ("reader", "erased"):
            values = {"name": [f"Fixed {role}"], "email": [f"{role}@t0.example"]}
            fixed[role] = create_subject(vault, conn, "t00", kind="user", values=values, now=NOW)
    return fixed


def _indexes(conn: Any) -> list[tuple[str, str]]:
    rows = conn.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'calls' "
        "AND indexname <> 'calls_pkey'"))  # fmt: skip
    return [(r.indexname, r.indexdef) for r in rows]


# One statement per million calls, generated in the server: tenant g % 50, direction by g % 10,
# the parties picked from the tenant's users and externals (the fixed subjects excluded).
GENERATE = """
WITH parties AS (
    SELECT tenant_id,
           array_agg(subject_id ORDER BY subject_id) FILTER (WHERE kind = 'user') AS users,
           array_agg(subject_id ORDER BY subject_id) FILTER (WHERE kind = 'external') AS externals
    FROM subjects WHERE subject_id NOT IN (:reader, :erased) GROUP BY tenant_id
), numbered AS (
    SELECT tenant_id, CAST(substr(tenant_id, 2) AS INTEGER) AS n FROM tenants
)
INSERT INTO calls (tenant_id, call_id, source_key, linked_key, started_at, answered_at, ended_at,
                   duration_s, billsec_s, direction, outcome, caller_subject_id,
                   callee_subject_id, created_at)
SELECT t.tenant_id, md5('c' || g), decode(md5('s' || g), 'hex'), NULL, at, at, at + interval '60 s',
       60, CASE WHEN g % 5 = 4 THEN 0 ELSE 55 END,
       CASE WHEN g % 10 < 4 THEN 'inbound' WHEN g % 10 < 8 THEN 'outbound' ELSE 'internal' END,
       CASE WHEN g % 5 = 4 THEN 'no_answer' ELSE 'answered' END,
       CASE WHEN g % 10 < 4 THEN p.externals[1 + (g / 50) % cardinality(p.externals)]
            ELSE p.users[1 + (g / 50) % cardinality(p.users)] END,
       CASE WHEN g % 10 < 4 THEN p.users[1 + (g / 50) % cardinality(p.users)]
            WHEN g % 10 < 8 THEN p.externals[1 + (g / 50) % cardinality(p.externals)]
            ELSE p.users[1 + (g / 50 + 1) % cardinality(p.users)] END,
       :now
FROM generate_series(CAST(:lo AS BIGINT), CAST(:hi AS BIGINT)) AS g
JOIN numbered t ON t.n = g % 50
JOIN parties p ON p.tenant_id = t.tenant_id
CROSS JOIN LATERAL (SELECT CAST(:oldest AS TIMESTAMP)
                    + (g * CAST(:span AS DOUBLE PRECISION) / :total) * interval '1 second') AS s(at)
"""

# The fixed subjects' calls: with t00's externals, within the last 30 days; every fifth of the erased
# subject's with another user (kept, unlinked by erasure).
FIXED_CALLS = """
INSERT INTO calls (tenant_id, call_id, source_key, linked_key, started_at, answered_at, ended_at,
                   duration_s, billsec_s, direction, outcome, caller_subject_id,
                   callee_subject_id, created_at)
SELECT 't00', md5(:who || g), decode(md5('f' || :who || g), 'hex'), NULL, at, at,
       at + interval '60 s', 60, 55, CASE WHEN g % 5 = 0 THEN 'internal' ELSE 'inbound' END,
       'answered', CASE WHEN g % 5 = 0 THEN :other ELSE :external END, :who, :now
FROM generate_series(1, :count) AS g
CROSS JOIN LATERAL (SELECT CAST(:now AS TIMESTAMP) - (g * interval '37 minutes')) AS s(at)
"""


def load(vault: Vault, calls: int, fixed: dict[str, str]) -> float:
    began = time.perf_counter()
    naive = NOW.replace(tzinfo=None)
    with vault.engine.begin() as conn:
        kept = _indexes(conn)
        for name, _ in kept:
            conn.execute(text(f'DROP INDEX "{name}"'))
    for lo in range(0, calls, CHUNK):
        with vault.engine.begin() as conn:
            conn.execute(text(GENERATE), {
                "lo": lo, "hi": min(lo + CHUNK, calls) - 1, "total": calls,
                "span": DAYS * 86_400 - 3_600, "oldest": naive - timedelta(days=DAYS),
                "now": naive, **fixed})  # fmt: skip
    with vault.engine.begin() as conn:
        ids = conn.execute(text(
            "SELECT kind, min(subject_id) AS one FROM subjects WHERE tenant_id = 't00' "
            "AND subject_id NOT IN (:reader, :erased) GROUP BY kind"), fixed).all()  # fmt: skip
        other = {r.kind: r.one for r in ids}
        for who in fixed.values():
            conn.execute(text(FIXED_CALLS), {"who": who, "count": FIXED, "now": naive,
                                             "other": other["user"], "external": other["external"]})  # fmt: skip
        for _, definition in kept:
            conn.execute(text(definition))
    with vault.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - began


def cdrs(rows: int, seed: int = 11) -> bytes:
    """Asterisk Master.csv rows for t00: its extensions 1000-1099 and 5,000 external numbers,
    ending two days ago (ids unique per run, so a size's table never holds them already)."""
    rng = random.Random(seed)
    out = io.StringIO()
    start = NOW.replace(tzinfo=None) - timedelta(days=2, seconds=rows * 3)
    for n in range(rows):
        ext, other = str(1000 + rng.randrange(INGEST_USERS)), f"+45{26100000 + rng.randrange(5000)}"
        src, dst = (other, ext) if n % 2 else (ext, other)
        t0 = (start + timedelta(seconds=n * 3)).strftime("%Y-%m-%d %H:%M:%S")
        t2 = (start + timedelta(seconds=n * 3 + 65)).strftime("%Y-%m-%d %H:%M:%S")
        out.write(f'"","{src}","{dst}","from-internal","","PJSIP/{src}-{n:08x}",'
                  f'"PJSIP/{dst}-{n:08x}","Dial","PJSIP/{dst},30","{t0}","{t0}","{t2}",65,60,'
                  f'"ANSWERED","DOCUMENTATION","scale.{n}","","","scale.{n}",1\n')  # fmt: skip
    return out.getvalue().encode()


def best(work: Any, times: int = 3) -> tuple[float, Any]:
    results = []
    for _ in range(times):
        began = time.perf_counter()
        value = work()
        results.append((time.perf_counter() - began, value))
    return min(results, key=lambda r: r[0])


def paths(vault: Vault, fixed: dict[str, str], csv: bytes) -> dict[str, tuple[float, int]]:
    """Each path's time and the rows it touched."""
    found: dict[str, tuple[float, int]] = {}
    began = time.perf_counter()
    report = ingest_calls(vault, "t00", io.BytesIO(csv), format="asterisk-csv", utc=True)
    found["ingest 20k CDRs"] = (time.perf_counter() - began, report.stored)
    consented = next(n for n, p in vault.policy.purposes.items() if p.legal_basis == "consent")
    give_consent(vault, "t00", fixed["reader"], consented)
    spent, data = best(lambda: read_subject(vault, "t00", fixed["reader"], consented,
                                            "service:crm"))  # fmt: skip
    found["read one subject"] = (spent, len(data.get("calls", ())))
    month = (NOW - timedelta(days=60), NOW - timedelta(days=30))
    spent, _ = best(lambda: statistics(vault, "t00", start=month[0], end=month[1], by="day"))
    found["stats one month"] = (spent, _calls_in(vault, *month))
    began = time.perf_counter()
    run = run_retention(vault, as_of=NOW)
    found["retention one day"] = (time.perf_counter() - began, _expired(run))
    began = time.perf_counter()
    erase(vault, "t00", fixed["erased"], verification=Verification.operator())
    found["erasure (1,000 calls)"] = (time.perf_counter() - began, FIXED)
    return found


def _calls_in(vault: Vault, start: datetime, end: datetime) -> int:
    with vault.engine.connect() as conn:
        return int(conn.scalar(text(
            "SELECT count(*) FROM calls WHERE tenant_id = 't00' AND started_at >= :a "
            "AND started_at < :b"), {"a": start.replace(tzinfo=None), "b": end.replace(tzinfo=None)}))  # fmt: skip


def _expired(report: RetentionReport) -> int:
    return report.total("call_record", "anonymised")


def measure(size: int, pg: str, csv: bytes) -> dict[str, tuple[float, int]]:
    with scratch_vault("postgresql", pg) as vault:
        began = time.perf_counter()
        fixed = people(vault)
        print(f"{size:>11,} calls: tenants and subjects {time.perf_counter() - began:6.1f} s",
              end="", flush=True)  # fmt: skip
        loaded = load(vault, size, fixed)
        print(f", raw load {loaded:6.1f} s ({size / loaded:,.0f} rows/s)", flush=True)
        found = paths(vault, fixed, csv)
        vault.close()
    for path, (spent, rows) in found.items():  # at once: a later size may outlast the session
        print(f"  {path:<24} {spent * 1000:>10.1f} ms {rows:>9,} rows", flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--reference", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("CALLVAULT_TEST_PG", DEFAULT_PG))
    args = parser.parse_args()
    csv = cdrs(INGESTED)
    small = measure(args.reference, args.pg, csv)
    large = measure(args.calls, args.pg, csv)
    grow = args.calls / args.reference
    print(f"\n{'path':<24} {args.reference:>11,} calls          {args.calls:>11,} calls"
          f"          time x   rows x   (table x {grow:g})")  # fmt: skip
    for path, (t1, r1) in small.items():
        t2, r2 = large[path]
        rate = f" {r2 / t2:>9,.0f} rows/s" if path.startswith("ingest") else ""
        print(f"{path:<24} {t1 * 1000:>9.1f} ms {r1:>9,} rows  {t2 * 1000:>9.1f} ms {r2:>9,} rows"
              f"  {t2 / t1:6.2f}  {r2 / max(r1, 1):7.2f}{rate}")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
