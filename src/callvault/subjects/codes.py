"""One-time sign-in codes: how the privacy centre verifies that a subject controls an identifier
already held for it (Art. 12(6): the controller uses reasonable means to verify identity).

A code is six digits, kept only as a keyed hash in the database (shared by every serving process,
kept across a restart), valid for ``ttl``, used once, and ``attempts`` wrong entries discard it.

Whether an address is held is never told to the asker, not even by how long the answer takes:
:meth:`SignInCodes.issue` does the same work for a held and for an unknown address (one lookup, one
code row, one audit entry; an unknown address gets a row that can never be redeemed) and answers
``None`` for an unknown one; the adapter mails the code in the background and shows the same page.

Limits (Art. 32): an address gets ``per_hour`` codes an hour (held or not: the decoy rows count),
a client address asks ``client_per_hour`` times and enters ``client_entries_per_hour`` codes an hour;
over a client limit, :class:`~callvault.errors.RateLimited` is raised and the refusal audited.
A client address is kept only as a keyed hash (it is personal data too).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select, update

from callvault.clock import utcnow
from callvault.errors import CallvaultError, NotFound, RateLimited, Unauthenticated
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.web import sign_in_attempts, sign_in_codes
from callvault.subjects.directory import find_subject, new_id
from callvault.subjects.sessions import web_key
from callvault.tenants import get_tenant
from callvault.vault import Vault

__all__ = ["SignInCodes", "prune_sign_in_codes"]

HOUR = timedelta(hours=1)
WRONG = "the code is wrong or has expired"


def prune_sign_in_codes(conn: Connection, tenant_id: str, now: datetime) -> int:
    """Delete the tenant's codes and entry attempts older than the hour the rate limits count
    (Art. 5(1)(e)): their keyed hashes of addresses and client addresses are personal data too.
    Run by every sign-in and by retention, so a tenant nobody signs in to keeps none either.
    Returns the rows deleted."""
    c, a = sign_in_codes.c, sign_in_attempts.c
    codes = conn.execute(delete(sign_in_codes).where(c.tenant_id == tenant_id,
                                                     c.created_at < now - HOUR))  # fmt: skip
    tries = conn.execute(delete(sign_in_attempts).where(a.tenant_id == tenant_id,
                                                        a.at < now - HOUR))  # fmt: skip
    return int(codes.rowcount or 0) + int(tries.rowcount or 0)


@dataclass
class SignInCodes:
    """``issue`` a code for an address, ``redeem`` it for the subject's surrogate id."""

    vault: Vault
    ttl: timedelta = timedelta(minutes=10)
    attempts: int = 5
    per_hour: int = 5
    client_per_hour: int = 20
    client_entries_per_hour: int = 30

    def _hash(self, label: str, text: str) -> str:
        return hmac.new(web_key(self.vault), f"{label}|{text}".encode(), hashlib.sha256).hexdigest()

    def _slot(self, tenant_id: str, address: str) -> str:
        return self._hash("slot", f"{tenant_id}\x00{address.strip().lower()}")

    def _client(self, client: str | None) -> str | None:
        return None if client is None else self._hash("client", client)

    def _refuse(self, conn: Connection, tenant_id: str, action: str) -> None:
        self.vault.audit(conn, tenant_id, AuditEntry(
            actor="anonymous", action=action, outcome="deny", reason="rate limited",
            details={"rule": "client_rate_limit"}))  # fmt: skip

    def issue(self, tenant_id: str, address: str, client: str | None = None) -> str | None:
        """A fresh code for ``address`` if it is held for a subject of ``tenant_id`` and not over its
        rate limit; None otherwise (the caller says the same thing either way). RateLimited when
        ``client`` asked too often (audited, after the refusal commits)."""
        now, code = utcnow(), f"{secrets.randbelow(10**6):06d}"
        slot, who = self._slot(tenant_id, address), self._client(client)
        c = sign_in_codes.c
        try:
            with self.vault.transaction() as conn:
                get_tenant(conn, tenant_id)
                over = who is not None and self._count(conn, tenant_id, c.client == who, now) >= self.client_per_hour  # fmt: skip
                if over:
                    self._refuse(conn, tenant_id, "subject.sign_in.code")
                    subject_id = None
                else:
                    subject_id = self._issue(conn, tenant_id, slot, who, address, code, now)
        except NotFound:
            return None  # an unknown tenant (a tenant's existence is no secret: it is in the URL)
        if over:
            raise RateLimited("too many sign-in codes asked for from this client; try again later")
        return code if subject_id is not None else None

    def _count(self, conn: Connection, tenant_id: str, where: object, now: datetime) -> int:
        c = sign_in_codes.c
        return int(conn.scalar(select(func.count()).select_from(sign_in_codes).where(
            c.tenant_id == tenant_id, where, c.created_at > now - HOUR)) or 0)  # type: ignore[arg-type]  # fmt: skip

    def _holder(self, conn: Connection, tenant_id: str, address: str) -> str | None:
        """The subject ``address`` is held for. Only an e-mail address: a number or a surrogate id
        typed here finds nobody (whether text looks like an address is no secret, so skipping the
        lookup for it tells nothing)."""
        if "@" not in address:
            return None
        try:
            return find_subject(self.vault, conn, tenant_id, address)
        except CallvaultError:
            return None

    def _issue(self, conn: Connection, tenant_id: str, slot: str, who: str | None, address: str,
               code: str, now: datetime) -> str | None:  # fmt: skip
        """The same statements whether or not the address is held: no timing tells them apart."""
        over = self._count(conn, tenant_id, sign_in_codes.c.slot == slot, now) >= self.per_hour
        subject_id = self._holder(conn, tenant_id, address)
        held = subject_id is not None and not over
        code_id = new_id()
        prune_sign_in_codes(conn, tenant_id, now)
        conn.execute(insert(sign_in_codes), [{
            "tenant_id": tenant_id, "code_id": code_id, "slot": slot, "client": who,
            "subject_id": subject_id if held else None, "created_at": now,
            "code_hash": self._hash("code", f"{code_id}|{code}"), "expires_at": now + self.ttl,
            "attempts_left": self.attempts if held else 0}])  # fmt: skip
        self.vault.audit(conn, tenant_id, AuditEntry(
            actor=f"subject:{subject_id}" if held else "anonymous", action="subject.sign_in.code",
            outcome="ok" if held else "deny", subject_id=subject_id if held else None,
            reason=None if held else "no code sent", details={"method": "one_time_code"}))  # fmt: skip
        return subject_id if held else None

    def redeem(self, tenant_id: str, address: str, code: str, client: str | None = None) -> str:
        """The subject's surrogate id for a right code; Unauthenticated otherwise. A code is used
        once; an expired one, or one entered wrongly ``attempts`` times, is discarded. RateLimited
        when ``client`` entered too many codes within the hour."""
        now, slot, who = utcnow(), self._slot(tenant_id, address), self._client(client)
        with self.vault.transaction() as conn:
            outcome = self._redeem(conn, tenant_id, slot, who, code.strip(), now)
        if outcome == "limited":
            raise RateLimited("too many sign-in codes entered from this client; try again later")
        if outcome is None:
            raise Unauthenticated(WRONG)
        return outcome

    def _redeem(self, conn: Connection, tenant_id: str, slot: str, who: str | None, code: str,
                now: datetime) -> str | None:  # fmt: skip
        if who is not None:
            a = sign_in_attempts.c
            tried = conn.scalar(select(func.count()).select_from(sign_in_attempts).where(
                a.tenant_id == tenant_id, a.client == who, a.at > now - HOUR))  # fmt: skip
            if int(tried or 0) >= self.client_entries_per_hour:
                self._refuse(conn, tenant_id, "subject.sign_in")
                return "limited"
            prune_sign_in_codes(conn, tenant_id, now)
            conn.execute(insert(sign_in_attempts), [{"tenant_id": tenant_id, "attempt_id": new_id(),
                                                     "client": who, "at": now}])  # fmt: skip
        c = sign_in_codes.c
        row = conn.execute(select(c.code_id, c.subject_id, c.code_hash).where(
            c.tenant_id == tenant_id, c.slot == slot, c.used_at.is_(None), c.attempts_left > 0,
            c.expires_at > now).order_by(c.created_at.desc()).limit(1)).first()  # fmt: skip
        if row is None or row.subject_id is None:
            # No live code for this address (or none held): refused all the same, and audited
            # without the address or the code entered (Art. 5(2), 32).
            self.vault.audit(conn, tenant_id, AuditEntry(
                actor="anonymous", action="subject.sign_in", outcome="deny",
                reason="no live code", details={"method": "one_time_code"}))  # fmt: skip
            return None
        mine = (c.tenant_id == tenant_id) & (c.code_id == row.code_id)
        # Conditional updates: of two processes entering the same code at once, one wins.
        spent = conn.execute(update(sign_in_codes).where(mine, c.attempts_left > 0)
                             .values(attempts_left=c.attempts_left - 1)).rowcount  # fmt: skip
        right = spent == 1 and hmac.compare_digest(
            row.code_hash, self._hash("code", f"{row.code_id}|{code}")
        )
        if right:
            right = conn.execute(update(sign_in_codes).where(mine, c.used_at.is_(None))
                                 .values(used_at=now)).rowcount == 1  # fmt: skip
        self.vault.audit(conn, tenant_id, AuditEntry(
            actor=f"subject:{row.subject_id}", action="subject.sign_in",
            outcome="ok" if right else "deny", subject_id=row.subject_id,
            details={"method": "one_time_code"}, reason=None if right else "wrong code"))  # fmt: skip
        return str(row.subject_id) if right else None
