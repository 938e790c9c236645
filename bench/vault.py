"""Benchmark the vault core: storing subjects with encrypted, blind-indexed identifiers, looking
them up, and appending to the audit chain, each beside the raw-database baseline of the same run.

    .venv/bin/python bench/vault.py [--rows N] [--backend sqlite|postgresql|both]

The baselines write the same rows as callvault, in plain tables, without crypto or checks:

- store subject: a subject row and one row per identifier (name, e-mail, phone), the looked-up
  kinds indexed. (The old baseline wrote one row with three columns; callvault must write four
  rows, one per identifier, so that each can be encrypted, indexed and erased on its own.)
- audit append: one row with the audit entry's columns and the move of the chain's head row, the
  two rows an append writes. (The old baseline inserted a one-column row: it left out what makes
  the log tamper-evident, the head row that catches a truncated tail, and most of the entry.)
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)

sys.path.insert(0, str(Path(__file__).parent))
from _common import arguments, backends, report, scratch_vault, timed

from callvault.store.audit_chain import AuditEntry
from callvault.subjects.directory import create_subject, find_subject, shred_subjects
from callvault.tenants import add_tenant

raw_meta = MetaData()
raw_people = Table(
    "raw_people",
    raw_meta,
    Column("tenant_id", String(64), primary_key=True),
    Column("id", String(32), primary_key=True),
    Column("kind", String(16)),
    Column("created_at", DateTime),
    Column("updated_at", DateTime),
)
raw_values = Table(
    "raw_values",
    raw_meta,
    Column("tenant_id", String(64), primary_key=True),
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("slot", Integer, primary_key=True),
    Column("value", String(200), index=True),
)
raw_log = Table(
    "raw_log", raw_meta, Column("id", Integer, primary_key=True), Column("action", String(64))
)
raw_audit = Table(
    "raw_audit",
    raw_meta,
    Column("tenant_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    *(Column(name, String(200)) for name in ("actor", "action", "purpose", "legal_basis")),
    *(Column(name, String(200)) for name in ("subject_id", "outcome", "reason")),
    Column("at", DateTime),
    Column("categories", JSON),
    Column("details", JSON),
    Column("prev_hash", String(64)),
    Column("hash", String(64)),
)
raw_head = Table(
    "raw_head",
    raw_meta,
    Column("tenant_id", String(64), primary_key=True),
    Column("seq", Integer),
    Column("hash", String(64)),
)
_MOVE = (
    update(raw_head)
    .where(raw_head.c.tenant_id == bindparam("t"))
    .values(seq=bindparam("s"), hash=bindparam("h"))
)


def people(n: int) -> list[dict[str, str]]:
    return [
        {"name": f"Person {i}", "email": f"p{i}@acme.dk", "phone": f"+45{26000000 + i}"}
        for i in range(n)
    ]


def bench(backend: str, rows: int, pg: str) -> None:
    with scratch_vault(backend, pg) as vault:
        add_tenant(vault, "acme", name="Acme", collect=["name", "email", "phone"])
        raw_meta.create_all(vault.engine)
        data, now = people(rows), datetime.now(UTC)

        def ours_store() -> None:
            with vault.transaction() as conn:
                for p in data:
                    values = {"name": [p["name"]], "email": [p["email"]], "phone": [p["phone"]]}
                    create_subject(vault, conn, "acme", kind="user", values=values, now=now)

        def raw_store() -> None:
            with vault.engine.begin() as conn:
                for i, p in enumerate(data):
                    person = {"tenant_id": "acme", "id": f"{i:032x}", "kind": "user"}
                    conn.execute(insert(raw_people), {**person, "created_at": now.replace(
                        tzinfo=None), "updated_at": now.replace(tzinfo=None)})  # fmt: skip
                    values = [{"tenant_id": "acme", "id": person["id"], "kind": kind, "slot": 0,
                               "value": p[kind]} for kind in ("name", "email", "phone")]  # fmt: skip
                    conn.execute(insert(raw_values), values)

        report("store subject", backend, "rows", rows, timed(ours_store), timed(raw_store))
        probes = [p["email"] for p in data[: min(rows, 2000)]]

        def ours_find() -> None:
            with vault.engine.connect() as conn:
                for email in probes:
                    find_subject(vault, conn, "acme", email)

        def raw_find() -> None:
            with vault.engine.connect() as conn:
                for email in probes:
                    conn.execute(select(raw_values.c.id).where(raw_values.c.value == email)).one()

        report(
            "find subject by e-mail",
            backend,
            "lookups",
            len(probes),
            timed(ours_find),
            timed(raw_find),
        )

        def ours_audit() -> None:
            with vault.transaction() as conn:
                for i in range(rows):
                    entry = AuditEntry(actor="bench", action="x", details={"i": i})
                    vault.audit(conn, "acme", entry)  # HMAC chain under the key store's key

        with vault.engine.begin() as conn:
            conn.execute(insert(raw_head), {"tenant_id": "acme", "seq": 0, "hash": "0" * 64})

        def raw_append() -> None:
            at = now.replace(tzinfo=None)
            with vault.engine.begin() as conn:
                for i in range(rows):
                    entry = {"tenant_id": "acme", "seq": i + 1, "at": at, "actor": "bench",
                             "action": "x", "outcome": "ok", "categories": [],
                             "details": {"i": i}, "prev_hash": "0" * 64, "hash": "1" * 64}  # fmt: skip
                    conn.execute(insert(raw_audit), entry)
                    conn.execute(_MOVE, {"t": "acme", "s": i + 1, "h": "1" * 64})

        report("audit append", backend, "entries", rows, timed(ours_audit), timed(raw_append))
        shred(vault, backend, now)
        vault.close()


def shred(vault, backend: str, now: datetime, count: int = 10_000) -> None:  # type: ignore[no-untyped-def]
    """Erasing 10,000 subjects: rows deleted in the data database, keys destroyed in the key store
    (secure_delete / VACUUM), against a raw DELETE of as many rows of a plain table."""
    with vault.transaction() as conn:
        ids = [create_subject(vault, conn, "acme", kind="external",
                              values={"phone": [f"+45{28000000 + i}"]}, now=now)
               for i in range(count)]  # fmt: skip
    with vault.engine.begin() as conn:
        conn.execute(insert(raw_log), [{"id": 10_000_000 + i, "action": "x"} for i in range(count)])
    raw_ids = [10_000_000 + i for i in range(count)]

    def ours() -> None:
        with vault.transaction() as conn:
            shred_subjects(vault, conn, "acme", ids)  # keys destroyed right after the commit

    def raw() -> None:  # the same shape of work: the rows deleted by id, a thousand per statement
        with vault.engine.begin() as conn:
            for start in range(0, count, 1000):
                chunk = raw_ids[start : start + 1000]
                conn.execute(raw_log.delete().where(raw_log.c.id.in_(chunk)))

    report("shred subjects", backend, "subjects", count, timed(ours), timed(raw))


def main() -> None:
    args = arguments(__doc__ or "", rows=5000)
    for backend in backends(args.backend):
        bench(backend, args.rows, args.pg)


if __name__ == "__main__":
    main()
