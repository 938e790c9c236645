"""Web sessions: a random id in a Secure, HttpOnly, SameSite=Strict cookie; everything else (the
admin's token, the subject's surrogate id, the CSRF token) stays in the server's memory and expires.
A session is replaced on sign-in (no fixation) and every form carries its CSRF token."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

COOKIE = "cv_session"
TTL_S = 30 * 60  # a session ends 30 minutes after sign-in, whatever happens


@dataclass
class Session:
    sid: str
    csrf: str
    expires: float
    kind: str = "anonymous"  # anonymous | admin | subject
    tenant_id: str | None = None
    token: str | None = None  # admin: re-authenticated on every request (a revoked token ends it)
    subject_id: str | None = None
    address: str | None = None  # privacy centre, between asking for a code and entering it
    receipt: str | None = None  # the consent receipt to show once

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(self.csrf, given)


@dataclass
class Sessions:
    ttl_s: int = TTL_S
    _all: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def new(self, **values: Any) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                          time.monotonic() + self.ttl_s, **values)  # fmt: skip
        with self._lock:
            self._all = {k: s for k, s in self._all.items() if s.expires > time.monotonic()}
            self._all[session.sid] = session
        return session

    def get(self, sid: str | None) -> Session | None:
        with self._lock:
            session = self._all.get(sid or "")
            if session is not None and session.expires <= time.monotonic():
                del self._all[session.sid]
                return None
            return session

    def drop(self, session: Session) -> None:
        with self._lock:
            self._all.pop(session.sid, None)

    def cookie(self, response: Any, session: Session) -> None:
        remaining = max(1, int(session.expires - time.monotonic()))
        response.set_cookie(COOKIE, session.sid, max_age=remaining, path="/", secure=True,
                            httponly=True, samesite="strict")  # fmt: skip
