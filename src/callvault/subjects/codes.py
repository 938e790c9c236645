"""One-time sign-in codes: how the privacy centre verifies that a subject controls an identifier
already held for it (Art. 12(6): the controller uses reasonable means to verify identity).

A code is six digits, kept only as a keyed hash, valid for ``ttl``, used once, and a handful of wrong
entries discard it. Asking for codes is rate-limited per address. Whether an address is held is never
told to the asker: :meth:`SignInCodes.issue` answers ``None`` both for an unknown address and for one
over its rate limit, and the adapter shows the same page either way. Codes live in the serving
process (a restart discards them: the subject asks again).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from callvault.clock import utcnow
from callvault.errors import CallvaultError, Unauthenticated
from callvault.store.audit_chain import AuditEntry
from callvault.subjects.directory import find_subject
from callvault.vault import Vault

__all__ = ["SignInCodes"]

_PRUNE_AT = 10_000


@dataclass
class _Pending:
    subject_id: str
    digest: bytes
    expires: datetime
    attempts_left: int


@dataclass
class SignInCodes:
    """The codes of one serving process: ``issue`` one for an address, ``redeem`` it for the
    subject's surrogate id."""

    vault: Vault
    ttl: timedelta = timedelta(minutes=10)
    attempts: int = 5
    per_hour: int = 5
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _pending: dict[bytes, _Pending] = field(default_factory=dict)
    _asked: dict[bytes, list[datetime]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _slot(self, tenant_id: str, address: str) -> bytes:
        # Keyed, so the process's memory holds no address either.
        text = f"{tenant_id}\x00{address.strip().lower()}".encode()
        return hmac.new(self._key, text, hashlib.sha256).digest()

    def _digest(self, code: str) -> bytes:
        return hmac.new(self._key, code.encode(), hashlib.sha256).digest()

    def _limited(self, slot: bytes, now: datetime) -> bool:
        if len(self._asked) > _PRUNE_AT:  # addresses asked for at random must not grow memory
            self._prune(now)
        recent = [t for t in self._asked.get(slot, []) if now - t < timedelta(hours=1)]
        self._asked[slot] = [*recent, now]
        return len(recent) >= self.per_hour

    def _prune(self, now: datetime) -> None:
        hour = timedelta(hours=1)
        self._asked = {k: v for k, v in self._asked.items() if v and now - v[-1] < hour}
        self._pending = {k: p for k, p in self._pending.items() if p.expires >= now}

    def issue(self, tenant_id: str, address: str) -> str | None:
        """A fresh code for ``address`` if it is held for a subject of ``tenant_id`` and not over its
        rate limit; None otherwise (the caller says the same thing either way)."""
        now = utcnow()
        slot = self._slot(tenant_id, address)
        with self._lock:
            if self._limited(slot, now):
                return None
        try:
            with self.vault.transaction() as conn:
                subject_id = find_subject(self.vault, conn, tenant_id, address)
                self.vault.audit(conn, tenant_id, AuditEntry(
                    actor=f"subject:{subject_id}", action="subject.sign_in.code", outcome="ok",
                    subject_id=subject_id, details={"method": "one_time_code"}))  # fmt: skip
        except CallvaultError:
            return None  # unknown tenant or address: indistinguishable to the asker
        code = f"{secrets.randbelow(10**6):06d}"
        with self._lock:
            self._pending[slot] = _Pending(subject_id, self._digest(code), now + self.ttl,
                                           self.attempts)  # fmt: skip
        return code

    def redeem(self, tenant_id: str, address: str, code: str) -> str:
        """The subject's surrogate id for a right code; Unauthenticated otherwise. A code is used
        once; an expired one, or one entered wrongly ``attempts`` times, is discarded."""
        slot = self._slot(tenant_id, address)
        now = utcnow()
        with self._lock:
            pending = self._pending.get(slot)
            if pending is None or pending.expires < now:
                self._pending.pop(slot, None)
                raise Unauthenticated("the code is wrong or has expired")
            right = hmac.compare_digest(pending.digest, self._digest(code.strip()))
            pending.attempts_left -= 1
            if right or pending.attempts_left <= 0:
                del self._pending[slot]
        outcome = "ok" if right else "deny"
        with self.vault.transaction() as conn:
            self.vault.audit(conn, tenant_id, AuditEntry(
                actor=f"subject:{pending.subject_id}", action="subject.sign_in", outcome=outcome,
                subject_id=pending.subject_id, details={"method": "one_time_code"},
                reason=None if right else "wrong code"))  # fmt: skip
        if not right:
            raise Unauthenticated("the code is wrong or has expired")
        return pending.subject_id
