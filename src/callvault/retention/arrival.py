"""Records that arrive already past their retention period (GDPR Art. 5(1)(e), Recital 26).

An ingest may bring a call older than the tenant's period for call records (a late export, a replayed
archive). Storing it as an event until the next retention run would serve it in the meantime, so the
ingest hands such calls here inside its own transaction, and they are kept only as what retention
would have kept of them: their statistics cells (deleted when small) and the billing subset under the
legal hold; the event-level rows are deleted before the transaction commits, with ``secure_delete``
on SQLite so their bytes are not left in a free page, and externals left with nothing are shredded.
The rules are the tenant's effective ones (:mod:`callvault.retention.rules`), never a period here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Column, Connection, MetaData, String, Table, and_, insert, select

from callvault.retention import anonymise as A
from callvault.retention import batches as B
from callvault.retention.rules import held_from
from callvault.retention.suppression import suppress_small_cells
from callvault.store.schema.core import calls
from callvault.tenants import get_tenant
from callvault.vault import Vault

_INSERT_CHUNK = 10_000
# The ids of this ingest's expired calls, so that each step is one statement over all of them (not
# one per chunk of ids): a temporary table, private to the connection, dropped before commit (and on
# PostgreSQL at commit whatever happens).
_ARRIVALS = Table(
    "callvault_arrivals",
    MetaData(),
    Column("call_id", String(32), primary_key=True),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


@contextmanager
def _arrivals(conn: Connection, call_ids: Sequence[str]) -> Iterator[Table]:
    """The temporary table, filled; dropped on success only. On an error the caller's transaction
    rolls back, and with it the table's creation (DDL is transactional on SQLite and PostgreSQL):
    a DROP there would fail in PostgreSQL's aborted transaction and hide the error itself."""
    _ARRIVALS.create(conn, checkfirst=True)
    for start in range(0, len(call_ids), _INSERT_CHUNK):
        chunk = call_ids[start : start + _INSERT_CHUNK]
        conn.execute(insert(_ARRIVALS), [{"call_id": call_id} for call_id in chunk])
    yield _ARRIVALS
    _ARRIVALS.drop(conn, checkfirst=True)


@contextmanager
def _secure_delete(conn: Connection) -> Iterator[None]:
    """SQLite overwrites deleted content while this is on (PostgreSQL's dead tuples are vacuumed)."""
    sqlite_db = conn.dialect.name == "sqlite"
    if sqlite_db:
        conn.exec_driver_sql("PRAGMA secure_delete=ON")
    try:
        yield
    finally:
        if sqlite_db:
            conn.exec_driver_sql("PRAGMA secure_delete=OFF")


def calls_expired_on_arrival(
    vault: Vault, conn: Connection, tenant_id: str, call_ids: Sequence[str], at: datetime
) -> dict[str, int]:
    """Reduce the just-inserted calls ``call_ids`` (all past their period at ``at``) to what
    retention keeps of them; counts of what was kept, in the retention run's words."""
    counts = {"anonymised": 0, "billing_copied": 0, "externals_shredded": 0, "cells_suppressed": 0}
    if not call_ids:
        return counts
    limits = held_from(vault, get_tenant(conn, tenant_id), at)
    billing_from = limits["billing_record"]
    with _secure_delete(conn), _arrivals(conn, call_ids) as arrived:
        batch = and_(calls.c.tenant_id == tenant_id,
                     calls.c.call_id.in_(select(arrived.c.call_id)))  # fmt: skip
        parties = A.aggregate_calls(conn, batch)
        counts["billing_copied"] += A.copy_billing(conn, batch, billing_from, at)
        candidates = B.external_parties(conn, tenant_id, batch, parties)
        counts["anonymised"] += B.delete_calls(conn, batch)
        counts["externals_shredded"] += B.shred_orphans(vault, conn, tenant_id, candidates)
    k = vault.policy.policy.k_anonymity
    counts["cells_suppressed"] = suppress_small_cells(conn, tenant_id, limits["call_record"], k)
    return counts
