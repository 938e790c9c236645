"""Web sessions in the database, so a session outlives a restart and any serving process serves it.

The session id lives only in the visitor's cookie. A row is found by the id's keyed hash (HMAC under
an operator key of the key store: a copy of the database cannot test guessed ids), and what the
session carries (an admin's token, the address a code was asked for, a receipt to show once) is
sealed under a key derived from the id itself, so the database alone opens none of it (Art. 32(1)).
The CSRF token is derived from the id the same way: nothing to store.

Only a session bound to a tenant is stored (asking for a code, an admin, a subject); a visitor who
has not yet asked for anything costs no row, so anonymous page views cannot fill the database.
Rows are tenant-scoped and cascade with their subject (erasure ends its sessions, Art. 17).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from callvault.clock import utcnow
from callvault.crypto.keyring import OPERATOR_KEYS
from callvault.crypto.primitives import derive_key, open_sealed, seal
from callvault.errors import IntegrityError
from callvault.store.schema.web import web_sessions
from callvault.vault import Vault

__all__ = ["StoredSession", "WebSessions", "prune_web_sessions", "web_key"]


def prune_web_sessions(conn: Connection, tenant_id: str, now: datetime) -> int:
    """Delete the tenant's sessions past their expiry (Art. 5(1)(e)); the rows deleted. Run when a
    session is stored and by retention."""
    t = web_sessions.c
    done = conn.execute(delete(web_sessions).where(t.tenant_id == tenant_id, t.expires_at < now))
    return int(done.rowcount or 0)


def web_key(vault: Vault) -> bytes:
    """The operator's key for the keyed hashes of session ids, codes and client addresses."""
    return vault.keyring.tenant_key(None, OPERATOR_KEYS, "web")


@dataclass(frozen=True)
class StoredSession:
    tenant_id: str
    kind: str
    subject_id: str | None
    values: dict[str, Any]
    expires_at: datetime


@dataclass
class WebSessions:
    """Store, load and drop sessions by their id (the cookie's value)."""

    vault: Vault

    def _hash(self, label: str, sid: str) -> str:
        return hmac.new(web_key(self.vault), f"{label}|{sid}".encode(), hashlib.sha256).hexdigest()

    def csrf(self, sid: str) -> str:
        """The session's CSRF token: derived, never stored."""
        return self._hash("csrf", sid)

    @staticmethod
    def _aad(tenant_id: str, session_hash: str) -> bytes:
        return f"web-session|{tenant_id}|{session_hash}".encode()

    @staticmethod
    def _box(sid: str) -> bytes:
        return derive_key(sid.encode(), "web-session")

    def store(self, sid: str, tenant_id: str, kind: str, subject_id: str | None,
              values: dict[str, Any], expires_at: datetime) -> None:  # fmt: skip
        """Write (or replace) the session's row; expired rows of the tenant go at the same time."""
        digest = self._hash("session", sid)
        sealed = seal(self._box(sid), json.dumps(values).encode(), self._aad(tenant_id, digest))
        t = web_sessions.c
        with self.vault.transaction() as conn:
            conn.execute(delete(web_sessions).where(t.session_hash == digest))
            prune_web_sessions(conn, tenant_id, utcnow())
            conn.execute(insert(web_sessions), [{
                "tenant_id": tenant_id, "session_hash": digest, "kind": kind,
                "subject_id": subject_id, "sealed": sealed, "created_at": utcnow(),
                "expires_at": expires_at}])  # fmt: skip

    def load(self, sid: str) -> StoredSession | None:
        """The unexpired session of this id, or None."""
        digest = self._hash("session", sid)
        t = web_sessions.c
        with self.vault.engine.connect() as conn:
            row = conn.execute(select(web_sessions).where(t.session_hash == digest)).first()
        if row is None or row.expires_at <= utcnow():
            return None
        try:
            values = json.loads(
                open_sealed(self._box(sid), row.sealed, self._aad(row.tenant_id, digest))
            )
        except IntegrityError:
            return None  # a row that does not open under this id is not this session
        return StoredSession(row.tenant_id, row.kind, row.subject_id, values, row.expires_at)

    def drop(self, sid: str) -> None:
        digest = self._hash("session", sid)
        with self.vault.transaction() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.session_hash == digest))
