"""Benchmark the vault core: storing subjects with encrypted, blind-indexed identifiers, looking
them up, and appending to the audit chain, each beside the raw-database baseline of the same run.

    .venv/bin/python bench/vault.py [--rows N] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

sys.path.insert(0, str(Path(__file__).parent))
from _common import arguments, backends, report, scratch_vault, timed

from callvault.store.audit_chain import AuditEntry
from callvault.subjects.directory import create_subject, find_subject, shred_subjects
from callvault.tenants import add_tenant

raw_meta = MetaData()
raw_people = Table(
    "raw_people",
    raw_meta,
    Column("id", Integer, primary_key=True),
    Column("name", String(200)),
    Column("email", String(200), index=True),
    Column("phone", String(32), index=True),
)
raw_log = Table(
    "raw_log", raw_meta, Column("id", Integer, primary_key=True), Column("action", String(64))
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
                for p in data:
                    conn.execute(insert(raw_people), [p])

        report("store subject", backend, "rows", rows, timed(ours_store), timed(raw_store))
        probes = [p["email"] for p in data[: min(rows, 2000)]]

        def ours_find() -> None:
            with vault.engine.connect() as conn:
                for email in probes:
                    find_subject(vault, conn, "acme", email)

        def raw_find() -> None:
            with vault.engine.connect() as conn:
                for email in probes:
                    conn.execute(select(raw_people.c.id).where(raw_people.c.email == email)).one()

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

        def raw_audit() -> None:
            with vault.engine.begin() as conn:
                for _ in range(rows):
                    conn.execute(insert(raw_log), [{"action": "x"}])

        report("audit append", backend, "entries", rows, timed(ours_audit), timed(raw_audit))
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
