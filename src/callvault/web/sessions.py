"""Web sessions: a random id in a Secure, HttpOnly, SameSite=Strict cookie. A session bound to a
tenant (a code asked for, an admin, a subject) is kept in the database by the library
(:class:`callvault.WebSessions`: the id's keyed hash, what it carries sealed under a key derived
from the id), so it survives a restart and is shared by every serving process; it ends ``ttl_s``
after sign-in. A visitor who has asked for nothing has an anonymous session that is not stored at
all. A session is replaced on sign-in (no fixation) and every form carries its CSRF token, derived
from the id."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from callvault import Vault, WebSessions

COOKIE = "cv_session"
TTL_S = 30 * 60  # a session ends 30 minutes after sign-in, whatever happens
_CARRIED = ("token", "address", "receipt", "notice")


@dataclass
class Session:
    sid: str
    csrf: str
    expires: float  # seconds since the epoch
    kind: str = "anonymous"  # anonymous | admin | subject
    tenant_id: str | None = None
    token: str | None = None  # admin: re-authenticated on every request (a revoked token ends it)
    subject_id: str | None = None
    address: str | None = None  # privacy centre, between asking for a code and entering it
    receipt: str | None = None  # the consent receipt to show once
    notice: str | None = None  # a word key of the message to show once (e.g. request received)

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(self.csrf, given)


class Sessions:
    """``new``, ``get``, ``save``, ``drop`` and ``cookie``; sessions live in ``vault``'s database."""

    def __init__(self, vault: Vault, ttl_s: int = TTL_S) -> None:
        self.ttl_s = ttl_s
        self.store = WebSessions(vault)

    def new(self, **values: Any) -> Session:
        sid = secrets.token_urlsafe(32)
        session = Session(sid, self.store.csrf(sid), time.time() + self.ttl_s, **values)
        self.save(session)
        return session

    def get(self, sid: str | None) -> Session | None:
        """The session of this cookie: stored, or anonymous when nothing is stored under it."""
        if not sid or len(sid) > 64:
            return None
        stored = self.store.load(sid)
        if stored is None:
            return Session(sid, self.store.csrf(sid), time.time() + self.ttl_s)
        carried = {k: stored.values.get(k) for k in _CARRIED}
        return Session(sid, self.store.csrf(sid), stored.expires_at.timestamp(), kind=stored.kind,
                       tenant_id=stored.tenant_id, subject_id=stored.subject_id, **carried)  # fmt: skip

    def save(self, session: Session) -> None:
        """Keep the session's state (nothing is stored for one not bound to a tenant)."""
        if session.tenant_id is None:
            return
        values = {k: getattr(session, k) for k in _CARRIED if getattr(session, k) is not None}
        self.store.store(session.sid, session.tenant_id, session.kind, session.subject_id, values,
                         datetime.fromtimestamp(session.expires, UTC))  # fmt: skip

    def drop(self, session: Session) -> None:
        self.store.drop(session.sid)

    def cookie(self, response: Any, session: Session) -> None:
        remaining = max(1, int(session.expires - time.time()))
        response.set_cookie(COOKIE, session.sid, max_age=remaining, path="/", secure=True,
                            httponly=True, samesite="strict")  # fmt: skip
