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

from callvault.store.audit_chain import AuditEntry, record
from callvault.subjects.directory import create_subject, find_subject
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
                    record(conn, "acme", AuditEntry(actor="bench", action="x", details={"i": i}))

        def raw_audit() -> None:
            with vault.engine.begin() as conn:
                for _ in range(rows):
                    conn.execute(insert(raw_log), [{"action": "x"}])

        report("audit append", backend, "entries", rows, timed(ours_audit), timed(raw_audit))
        vault.close()


def main() -> None:
    args = arguments(__doc__ or "", rows=5000)
    for backend in backends(args.backend):
        bench(backend, args.rows, args.pg)


if __name__ == "__main__":
    main()
