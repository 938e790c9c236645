"""GDPRbench's four workloads against callvault's public API and against plain tables.

    .venv/bin/python bench/gdprbench.py [--scale K] [--workload W ...] [--backend ...] [--pg URL]

GDPRbench (Shastri et al., "Understanding and Benchmarking the Impact of GDPR on Database Systems",
PVLDB 13(7), 2020; github.com/GDPRbench/GDPRbench, a YCSB fork) defines four workloads over personal
records with metadata. Its workload files (``src/workloads/gdpr_*``) set ``recordcount=1000`` and
``operationcount=1000``; ``--scale 10`` runs 10,000 of each. The mixes are the files' proportions
(YCSB normalises them to sum to one) and their request distributions:

- **controller** (uniform): insert 0.25, update metadata 0.5, delete by metadata 0.025. The file has
  one ``updatemetaproportion``; we split it evenly between *by purpose* and *by user*.
- **customer** (zipfian): read, read metadata, update, update metadata, delete, 0.2 each.
- **processor** (uniform): read 0.2, read by metadata 0.8. The file's metadata read matches the
  purpose field; we split it evenly between *by purpose* and *by user*.
- **regulator** (zipfian): read metadata 0.46. The file names no other proportion; GDPRbench's
  regulator also reads the log (``readlog``, once per client) and checks compliance once. We run
  the audit read as the other 0.54 and verify the whole audit chain once at the start.

A record is one subject of a tenant (name, e-mail, phone) with its metadata (consent per purpose,
objection, restriction). How each operation maps (purposes come from the policy, never named here):

==========================  ======================================  ================================
operation                   callvault (public API)                  plain tables
==========================  ======================================  ================================
insert                      ``ingest_subjects`` (one row)           INSERT record
update metadata by purpose  ``give_consent``/``withdraw_consent``   UPDATE consent row
update metadata by user     ``restrict`` / lift (Art. 18)           UPDATE record.restricted
delete by metadata (TTL)    ``run_retention``                       DELETE records past expiry
read                        ``read_subject`` (purpose-bound)        SELECT record + its consent
read metadata               ``subject_overview`` (consents)         SELECT consent rows
update                      ``rectify`` (the name, Art. 16)         UPDATE record.name
update metadata             ``object_to`` / withdraw (Art. 21)      UPDATE record.objection
delete                      ``erase`` (Art. 17)                     DELETE record + consent rows
read by purpose             ``read_subject`` by subject id          SELECT record JOIN consent
read by user                ``read_subject`` by the e-mail          SELECT record WHERE email
regulator read metadata     ``subject_consents`` (records+states)   SELECT consent rows
read audit                  ``audit_entries`` (latest 100)          SELECT latest 100 of a log table
compliance check (once)     ``verify_audit`` (the tenant's chain)   SELECT every row of the log
==========================  ======================================  ================================

callvault does each in its own transaction with its gates, its encryption and its audit entry; the
baseline does the same rows on plain tables in the same database, one transaction per operation,
without gates, encryption or audit (its log table is filled once, as long as callvault's, so the
regulator reads the same number of rows). Records loaded: callvault through ``ingest_subjects``
and one ``give_consent`` each; the baseline with ``executemany``. Loading is not timed. On
PostgreSQL the load ends with an ANALYZE of the database, as autovacuum does in production after
the first fifty rows of a table (untimed): on tables never analysed the planner estimates one row
for any tenant and picks any index that starts with ``tenant_id``, scanning the tenant's rows for
a lookup by key (a consent act read all 1,000 consent records). The four
workloads run in one vault in the order processor, regulator, controller, customer (the last two
change and delete records). An operation on a record erased before is *missing* on both sides, a
read that the gate refuses (objection, restriction) is *refused*: both are counted and printed.
"""

from __future__ import annotations

import argparse
import bisect
import io
import itertools
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).parent))
from _common import DEFAULT_PG, backends, scratch_vault

from callvault import (
    NotFound,
    PolicyRefusal,
    Vault,
    Verification,
    add_tenant,
    audit_entries,
    erase,
    give_consent,
    ingest_subjects,
    object_to,
    read_subject,
    rectify,
    restrict,
    run_retention,
    subject_consents,
    subject_overview,
    verify_audit,
    withdraw_consent,
)

TENANT = "gdpr"
READER = "service:crm"
RECORDS = 1_000  # GDPRbench's recordcount and operationcount
WORKLOADS: dict[str, tuple[str, dict[str, float]]] = {
    "processor": ("uniform", {"read": 0.2, "read_by_purpose": 0.4, "read_by_user": 0.4}),
    "regulator": ("zipfian", {"read_meta_regulator": 0.46, "read_audit": 0.54}),
    "controller": ("uniform", {"insert": 0.25, "update_meta_by_purpose": 0.25,
                               "update_meta_by_user": 0.25, "delete_by_ttl": 0.025}),
    "customer": ("zipfian", {"read": 0.2, "read_meta": 0.2, "update": 0.2, "update_meta": 0.2,
                             "delete": 0.2}),
}  # fmt: skip


def email(n: int) -> str:
    return f"user{n}@gdpr.example"


def zipfian(n: int, rng: random.Random, theta: float = 0.99) -> Callable[[], int]:
    """YCSB's scrambled zipfian: popular keys spread over the key space, not the lowest ids."""
    weights = list(itertools.accumulate(1 / (i + 1) ** theta for i in range(n)))
    order = list(range(n))
    rng.shuffle(order)
    return lambda: order[bisect.bisect(weights, rng.random() * weights[-1])]


def plan(workload: str, records: int, operations: int, seed: int) -> list[tuple[str, int]]:
    """The workload's operations and the record each acts on, the same for both sides."""
    rng = random.Random(seed)
    distribution, mix = WORKLOADS[workload]
    pick = zipfian(records, rng) if distribution == "zipfian" else lambda: rng.randrange(records)
    names, weights = list(mix), list(mix.values())
    fresh = itertools.count(records * 10)  # inserted records get keys no loaded record has
    ops = []
    for name in rng.choices(names, weights, k=operations):
        ops.append((name, next(fresh) if name == "insert" else pick()))
    return ops


class Callvault:
    """Each operation through the public API, the subject named by its e-mail (a blind index)."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        consented = [n for n, p in vault.policy.purposes.items() if p.legal_basis == "consent"]
        self.purpose = consented[0]
        objectable = ("legitimate_interest", "public_task")  # Art. 21(1)
        self.objectable = next(n for n, p in vault.policy.purposes.items()
                               if p.legal_basis in objectable)  # fmt: skip
        self.flags: Counter[tuple[str, int]] = Counter()
        self.verified = Verification.operator()

    def load(self, records: int) -> None:
        rows = "".join(f"u{n},User {n},{email(n)},+45{26100000 + n}\n" for n in range(records))
        self._ingest("external_id,name,email,phone\n" + rows)
        for n in range(records):
            give_consent(self.vault, TENANT, email(n), self.purpose)

    def _ingest(self, csv: str) -> None:
        ingest_subjects(self.vault, TENANT, io.BytesIO(csv.encode()), format="csv")

    def _toggle(self, kind: str, n: int) -> bool:
        self.flags[kind, n] += 1
        return self.flags[kind, n] % 2 == 0  # True: undo the last change

    def insert(self, n: int) -> None:
        self._ingest(f"external_id,name,email,phone\nu{n},User {n},{email(n)},+45{28100000 + n}\n")

    def update_meta_by_purpose(self, n: int) -> None:
        act = give_consent if self._toggle("consent", n) else withdraw_consent
        act(self.vault, TENANT, email(n), self.purpose)

    def update_meta_by_user(self, n: int) -> None:
        restrict(self.vault, TENANT, email(n), lift=self._toggle("restrict", n))

    def delete_by_ttl(self, n: int) -> None:
        run_retention(self.vault, tenant=TENANT)

    def read(self, n: int) -> None:
        read_subject(self.vault, TENANT, email(n), self.purpose, READER)

    read_by_purpose = read

    def read_by_user(self, n: int) -> None:
        read_subject(self.vault, TENANT, email(n), self.purpose, READER)

    def read_meta(self, n: int) -> None:
        subject_overview(self.vault, TENANT, email(n))

    def update(self, n: int) -> None:
        rectify(self.vault, TENANT, email(n), "name", f"User {n} Jr", verification=self.verified)

    def update_meta(self, n: int) -> None:
        object_to(self.vault, TENANT, email(n), self.objectable, withdraw=self._toggle("object", n))

    def delete(self, n: int) -> None:
        erase(self.vault, TENANT, email(n), verification=self.verified)

    def read_meta_regulator(self, n: int) -> None:
        subject_consents(self.vault, TENANT, email(n))

    def read_audit(self, n: int) -> None:
        audit_entries(self.vault, TENANT, limit=100)

    def check_compliance(self) -> None:
        assert verify_audit(self.vault, TENANT).ok


RAW_DDL = (
    """CREATE TABLE raw_records (tenant_id VARCHAR(64) NOT NULL, record_key VARCHAR(32) NOT NULL,
        name TEXT, email TEXT, phone TEXT, objection BOOLEAN NOT NULL, restricted BOOLEAN NOT NULL,
        expires_at TIMESTAMP, created_at TIMESTAMP NOT NULL, PRIMARY KEY (tenant_id, record_key))""",
    "CREATE INDEX ix_raw_records_email ON raw_records (tenant_id, email)",
    "CREATE INDEX ix_raw_records_expiry ON raw_records (tenant_id, expires_at)",
    """CREATE TABLE raw_consents (tenant_id VARCHAR(64) NOT NULL, record_key VARCHAR(32) NOT NULL,
        purpose VARCHAR(64) NOT NULL, state VARCHAR(12) NOT NULL, changed_at TIMESTAMP NOT NULL,
        PRIMARY KEY (tenant_id, record_key, purpose))""",
    """CREATE TABLE raw_log (tenant_id VARCHAR(64) NOT NULL, seq INTEGER NOT NULL,
        at TIMESTAMP NOT NULL, actor VARCHAR(64), action VARCHAR(64), record_key VARCHAR(32),
        PRIMARY KEY (tenant_id, seq))""",
    "CREATE INDEX ix_raw_log_at ON raw_log (tenant_id, at)",
)


class Plain:
    """The same rows on plain tables: clear values, no gate, no key, no audit entry."""

    def __init__(self, engine: Engine, purpose: str) -> None:
        self.engine, self.purpose = engine, purpose
        self.flags: Counter[tuple[str, int]] = Counter()
        with engine.begin() as conn:
            for ddl in RAW_DDL:
                conn.execute(text(ddl))

    def load(self, records: int, log_entries: int) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.engine.begin() as conn:
            conn.execute(text(INSERT), [self._record(n, now) for n in range(records)])
            conn.execute(text("INSERT INTO raw_consents VALUES (:t, :k, :p, 'given', :at)"), [
                {"t": TENANT, "k": f"u{n}", "p": self.purpose, "at": now} for n in range(records)
            ])  # fmt: skip
            conn.execute(text("INSERT INTO raw_log VALUES (:t, :s, :at, 'operator', 'load', :k)"), [
                {"t": TENANT, "s": s, "at": now, "k": f"u{s % records}"} for s in range(log_entries)
            ])  # fmt: skip

    def _record(self, n: int, now: datetime) -> dict[str, object]:
        return {"t": TENANT, "k": f"u{n}", "name": f"User {n}", "email": email(n),
                "phone": f"+45{26100000 + n}", "exp": now + timedelta(days=30), "at": now}  # fmt: skip

    def _run(self, sql: str, **params: object) -> None:
        with self.engine.begin() as conn:
            result = conn.execute(text(sql), {"t": TENANT, **params})
            if result.returns_rows:
                result.all()

    def _toggle(self, kind: str, n: int) -> bool:
        self.flags[kind, n] += 1
        return self.flags[kind, n] % 2 == 0

    def insert(self, n: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(INSERT), self._record(n, datetime.now(UTC).replace(tzinfo=None)))

    def update_meta_by_purpose(self, n: int) -> None:
        state = "given" if self._toggle("consent", n) else "withdrawn"
        self._run("UPDATE raw_consents SET state = :s, changed_at = :at WHERE tenant_id = :t "
                  "AND record_key = :k AND purpose = :p", s=state, k=f"u{n}", p=self.purpose,
                  at=datetime.now(UTC).replace(tzinfo=None))  # fmt: skip

    def update_meta_by_user(self, n: int) -> None:
        self._run("UPDATE raw_records SET restricted = :r WHERE tenant_id = :t AND record_key = :k",
                  r=not self._toggle("restrict", n), k=f"u{n}")  # fmt: skip

    def delete_by_ttl(self, n: int) -> None:
        self._run("DELETE FROM raw_records WHERE tenant_id = :t AND expires_at < :now",
                  now=datetime.now(UTC).replace(tzinfo=None))  # fmt: skip

    def read(self, n: int) -> None:
        self._run("SELECT r.*, c.state FROM raw_records r LEFT JOIN raw_consents c ON "
                  "c.tenant_id = r.tenant_id AND c.record_key = r.record_key AND c.purpose = :p "
                  "WHERE r.tenant_id = :t AND r.record_key = :k", k=f"u{n}", p=self.purpose)  # fmt: skip

    def read_by_purpose(self, n: int) -> None:
        self._run("SELECT r.* FROM raw_records r JOIN raw_consents c ON c.tenant_id = r.tenant_id "
                  "AND c.record_key = r.record_key WHERE r.tenant_id = :t AND r.record_key = :k "
                  "AND c.purpose = :p AND c.state = 'given'", k=f"u{n}", p=self.purpose)  # fmt: skip

    def read_by_user(self, n: int) -> None:
        self._run("SELECT * FROM raw_records WHERE tenant_id = :t AND email = :e", e=email(n))

    def read_meta(self, n: int) -> None:
        self._run("SELECT purpose, state FROM raw_consents WHERE tenant_id = :t AND record_key = :k",
                  k=f"u{n}")  # fmt: skip

    read_meta_regulator = read_meta

    def update(self, n: int) -> None:
        self._run("UPDATE raw_records SET name = :v WHERE tenant_id = :t AND record_key = :k",
                  v=f"User {n} Jr", k=f"u{n}")  # fmt: skip

    def update_meta(self, n: int) -> None:
        self._run("UPDATE raw_records SET objection = :o WHERE tenant_id = :t AND record_key = :k",
                  o=not self._toggle("object", n), k=f"u{n}")  # fmt: skip

    def delete(self, n: int) -> None:
        with self.engine.begin() as conn:
            for table in ("raw_consents", "raw_records"):
                conn.execute(text(f"DELETE FROM {table} WHERE tenant_id = :t AND record_key = :k"),
                             {"t": TENANT, "k": f"u{n}"})  # fmt: skip

    def read_audit(self, n: int) -> None:
        self._run("SELECT * FROM raw_log WHERE tenant_id = :t ORDER BY at DESC, seq DESC LIMIT 100")

    def check_compliance(self) -> None:
        self._run("SELECT * FROM raw_log WHERE tenant_id = :t ORDER BY seq")


INSERT = (
    """INSERT INTO raw_records VALUES (:t, :k, :name, :email, :phone, FALSE, FALSE, :exp, :at)"""
)


class Outcome:
    """A workload's completion time, what became of its operations, the time spent per kind."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.counts: Counter[str] = Counter()
        self.spent: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()


def execute(side: Callvault | Plain, workload: str, ops: list[tuple[str, int]]) -> Outcome:
    """Run the operations one after the other, as one YCSB client does."""
    out = Outcome()
    clock = time.perf_counter
    began = clock()
    if workload == "regulator":
        side.check_compliance()
        out.spent["check_compliance"] += clock() - began
        out.kinds["check_compliance"] += 1
    for name, n in ops:
        start = clock()
        try:
            getattr(side, name)(n)
            out.counts["ok"] += 1
        except NotFound:
            out.counts["missing"] += 1
        except PolicyRefusal:
            out.counts["refused"] += 1
        out.spent[name] += clock() - start
        out.kinds[name] += 1
    out.seconds = clock() - began
    return out


def bench(backend: str, pg: str, scale: int, workloads: list[str], seed: int) -> None:
    records = RECORDS * scale
    with scratch_vault(backend, pg) as vault:
        add_tenant(vault, TENANT, name="GDPRbench ApS", collect=["name", "email", "phone"])
        ours = Callvault(vault)
        began = time.perf_counter()
        ours.load(records)
        loaded = time.perf_counter() - began
        entries = len(audit_entries(vault, TENANT, limit=10 * records + 1000))
        raw = Plain(vault.engine, ours.purpose)
        raw.load(records, entries)
        if vault.engine.dialect.name == "postgresql":
            with vault.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        print(f"{backend}: loaded {records:,} records ({loaded:.1f} s through callvault, "
              f"{entries:,} audit entries)")  # fmt: skip
        for workload in (w for w in WORKLOADS if w in workloads):
            ops = plan(workload, records, records, seed)
            raw_out = execute(raw, workload, ops)
            cv_out = execute(ours, workload, ops)
            line(workload, backend, len(ops), cv_out, raw_out)
            sys.stdout.flush()


def line(workload: str, backend: str, ops: int, ours: Outcome, raw: Outcome) -> None:
    notes = ", ".join(f"{k} {v}" for k, v in sorted(ours.counts.items()) if k != "ok")
    print(f"  {workload:<11} {backend:<10} {ops:>6,} ops  callvault {ours.seconds:7.2f} s "
          f"{ops / ours.seconds:>8,.0f} ops/s   raw {raw.seconds:6.2f} s "
          f"{ops / raw.seconds:>8,.0f} ops/s   ratio {ours.seconds / raw.seconds:6.1f}"
          + (f"   ({notes})" if notes else ""))  # fmt: skip
    for name, count in sorted(ours.kinds.items()):
        mine, base = ours.spent[name] / count * 1000, raw.spent[name] / count * 1000
        print(f"      {name:<24} x{count:<6,} callvault {mine:8.2f} ms   raw {base:7.2f} ms   "
              f"ratio {mine / base:6.1f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="records and operations x 1,000")
    parser.add_argument("--workload", action="append", choices=list(WORKLOADS))
    parser.add_argument("--pg", default=os.environ.get("CALLVAULT_TEST_PG", DEFAULT_PG))
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    size = RECORDS * args.scale
    print(f"GDPRbench: {size:,} records, {size:,} operations per workload (default x {args.scale})")
    for backend in backends(args.backend):
        bench(backend, args.pg, args.scale, args.workload or list(WORKLOADS), args.seed)


if __name__ == "__main__":
    main()
