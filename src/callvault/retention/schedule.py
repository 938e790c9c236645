"""Scheduled retention and consent expiry: what ``callvault serve`` runs, at most once per period
across every server sharing the vault.

Storage limitation (Art. 5(1)(e)) and the end of consents (Art. 7(3)) must happen without anyone
remembering to run a command. Several servers may run against one vault, so a run takes a lock first:
a PostgreSQL session advisory lock (released by the server if the process dies), or on SQLite a lock
row in ``vault_meta`` written in a ``BEGIN IMMEDIATE`` transaction, with an expiry so that a killed
server does not block the schedule forever. Under the lock the run is skipped unless the last one
(``vault_meta`` ``schedule.last``) is a whole period old, so two servers never run it twice.

Each run is a retention run (``retention status`` shows it) and an audit entry ``schedule.run`` in the
operator's chain; a run that fails is audited with the error's class, and since ``schedule.last``
is then not moved the next check tries again. A missed run shows as overdue records in
``retention status``, which counts them from the data.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text, update

from callvault.clock import utcnow
from callvault.consent.expiry import expire_consents
from callvault.retention.run import run_retention
from callvault.store.audit_chain import OPERATOR, AuditEntry
from callvault.store.schema.core import vault_meta
from callvault.vault import Vault

__all__ = ["run_scheduled"]

_LOCK = "schedule.lock"
_LAST = "schedule.last"
_LOCK_FOR = timedelta(hours=6)  # a SQLite lock row older than this belongs to a dead server
_PG_KEY = int.from_bytes(hashlib.sha256(b"callvault.schedule").digest()[:7], "big")


def _meta(conn: Connection, name: str) -> str | None:
    return conn.scalar(
        select(vault_meta.c.value).where(
            vault_meta.c.tenant_id == OPERATOR, vault_meta.c.name == name
        )
    )


def _put(conn: Connection, name: str, value: str) -> None:
    where = (vault_meta.c.tenant_id == OPERATOR) & (vault_meta.c.name == name)
    if conn.execute(update(vault_meta).where(where).values(value=value)).rowcount == 0:
        conn.execute(insert(vault_meta), [{"tenant_id": OPERATOR, "name": name, "value": value}])


@contextlib.contextmanager
def _sqlite_lock(vault: Vault, holder: str, now: datetime) -> Iterator[bool]:
    with vault.transaction() as conn:  # BEGIN IMMEDIATE: one writer decides at a time
        held = _meta(conn, _LOCK)
        # A lock row past its expiry was left by a server that died during a run.
        acquired = held is None or datetime.fromisoformat(held.partition(" ")[2]) <= now
        if acquired:
            _put(conn, _LOCK, f"{holder} {(now + _LOCK_FOR).isoformat()}")
    try:
        yield acquired
    finally:
        if acquired:
            with vault.transaction() as conn:
                conn.execute(
                    delete(vault_meta).where(
                        vault_meta.c.tenant_id == OPERATOR, vault_meta.c.name == _LOCK
                    )
                )


@contextlib.contextmanager
def _pg_lock(vault: Vault) -> Iterator[bool]:
    with vault.engine.connect() as conn:
        acquired = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_KEY}))
        conn.commit()
        try:
            yield acquired
        finally:
            if acquired:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_KEY})
                conn.commit()


def schedule_lock(
    vault: Vault, holder: str, now: datetime
) -> contextlib.AbstractContextManager[bool]:
    """A context yielding whether this process holds the scheduler's lock."""
    if vault.engine.dialect.name == "postgresql":
        return _pg_lock(vault)
    return _sqlite_lock(vault, holder, now)


def _due(vault: Vault, every: timedelta, now: datetime) -> bool:
    with vault.engine.connect() as conn:
        last = _meta(conn, _LAST)
    return last is None or datetime.fromisoformat(last) + every <= now


def run_scheduled(
    vault: Vault, *, every: timedelta, holder: str = "serve", now: datetime | None = None
) -> dict[str, Any] | None:
    """Run retention and consent expiry if a period has passed since the last run and no other
    server is running them; the run's summary, or None when skipped (locked or not due)."""
    moment = now or utcnow()
    with schedule_lock(vault, holder, moment) as acquired:
        if not acquired or not _due(vault, every, moment):
            return None
        try:
            report = run_retention(vault, as_of=moment)
            expired = expire_consents(vault, moment, actor="operator:scheduler")
        except Exception as exc:
            _record(vault, moment, "error", {"error": type(exc).__name__}, moved=False)
            raise
        summary = {"run_id": report.run_id, "as_of": moment.isoformat(),
                   "consents_expired": sum(expired.values())}  # fmt: skip
        _record(vault, moment, "ok", summary, moved=True)
        return summary


def _record(
    vault: Vault, moment: datetime, outcome: str, details: dict[str, Any], *, moved: bool
) -> None:
    with vault.transaction() as conn:
        if moved:
            _put(conn, _LAST, moment.isoformat())
        vault.audit(conn, OPERATOR, AuditEntry(actor="operator:scheduler", action="schedule.run",
                                               outcome=outcome, details=details))  # fmt: skip
