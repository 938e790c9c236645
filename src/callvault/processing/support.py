"""Support sessions: error diagnosis happens only inside one (GDPR Art. 6(1)(b), Art. 25, Art. 32).

A support engineer opens a session for one tenant and one ticket, for a few hours; it can never outlive
the tenant's service and support agreement, which is the legal basis of the work. Each session gets its
own random pseudonym key, stored only wrapped: under the tenant's pseudonym key, which is itself wrapped
by the master key, so a master key rotation (which re-wraps tenant keys) keeps open sessions usable. Reads
inside the session turn numbers, names and e-mails into HMAC tokens under that key: stable within the
session (an engineer can follow one caller through the records) and unlinkable across sessions. Closing
the session destroys the wrapped key, so its tokens can never be recomputed (Art. 4(5)).

A session belongs to its engineer: reads in it are made as the actor ``support:<engineer>``
(``--engineer eng-joe`` opens a session read as ``--actor support:eng-joe``); anyone else is refused,
even with the right ticket. Engineer names and tickets follow :mod:`callvault.subjects.actors`: no e-mail
address or telephone number reaches the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from callvault.clock import utcnow
from callvault.crypto.primitives import derive_key, new_key, open_sealed, seal
from callvault.errors import InvalidInput, NotFound, PolicyRefusal
from callvault.policy import CompiledPurpose
from callvault.policy.model import SUPPORT_SESSION
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.support import support_sessions
from callvault.subjects.actors import check_actor, check_ref
from callvault.subjects.directory import new_id
from callvault.tenants import get_tenant
from callvault.vault import Vault

MAX_HOURS = 168  # a week: a session is time-boxed, not a standing permission


@dataclass(frozen=True, slots=True)
class SupportSession:
    tenant_id: str
    session_id: str
    ticket: str
    engineer: str
    opened_at: datetime
    expires_at: datetime
    closed_at: datetime | None

    def open_at(self, at: datetime) -> bool:
        return self.closed_at is None and self.opened_at <= at < self.expires_at

    def as_dict(self) -> dict[str, object]:
        return {
            "tenant": self.tenant_id,
            "session": self.session_id,
            "ticket": self.ticket,
            "engineer": self.engineer,
            "opened_at": self.opened_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }


def _key_aad(tenant_id: str, session_id: str) -> bytes:
    return f"support-session|{tenant_id}|{session_id}".encode()


def _wrapping_key(vault: Vault, conn: Connection, tenant_id: str) -> bytes:
    """Derived from the tenant's pseudonym key: one key, one use (HMAC tokens vs AES-GCM wrapping)."""
    base = vault.keyring.tenant_key(conn, tenant_id, "pseudonym")
    return derive_key(base, "support-session key wrapping")


def _session(row: object) -> SupportSession:
    r = row._mapping  # type: ignore[attr-defined]
    return SupportSession(
        r["tenant_id"],
        r["session_id"],
        r["ticket"],
        r["engineer"],
        r["opened_at"],
        r["expires_at"],
        r["closed_at"],
    )


def _session_purposes(vault: Vault) -> list[CompiledPurpose]:
    """The purposes read inside support sessions (``error_diagnosis`` by default); a session serves
    all of them. PolicyRefusal when the policy has none: a session would rest on nothing."""
    found = vault.policy.purposes_with(access=SUPPORT_SESSION)
    if not found:
        raise PolicyRefusal("no purpose of the policy in force is read in support sessions")
    return found


def _audited_purpose(purposes: list[CompiledPurpose]) -> dict[str, Any]:
    """Purpose and basis of a session's audit entry: named when there is one, listed otherwise."""
    if len(purposes) == 1:
        return {"purpose": purposes[0].name, "legal_basis": purposes[0].legal_basis}
    return {"details": {"purposes": [p.name for p in purposes]}}


def _refuse_open(
    conn: Connection, vault: Vault, tenant_id: str, actor: str, reason: str, purposes: list[Any]
) -> None:
    entry = AuditEntry(
        actor=actor, action="support.open", outcome="deny", reason=reason,
        **_audited_purpose(purposes),
    )  # fmt: skip
    vault.audit(conn, tenant_id, entry)


def open_session(
    vault: Vault,
    tenant_id: str,
    *,
    ticket: str,
    engineer: str,
    hours: float,
    actor: str | None = None,
    at: datetime | None = None,
) -> SupportSession:
    """Open a time-boxed session; refused (exit 3) unless the tenant's agreement is in force."""
    if not ticket.strip() or not engineer.strip():
        raise InvalidInput("a support session needs a ticket and an engineer", pointer="ticket")
    ticket = check_ref(ticket, field="ticket")
    engineer = engineer.strip().removeprefix("support:")
    actor = check_actor(actor or f"support:{engineer}")
    check_actor(f"support:{engineer}")  # the engineer's name is audited as a role name
    if not 0 < hours <= MAX_HOURS:
        raise InvalidInput(f"--hours must be in (0, {MAX_HOURS}]", pointer="hours")
    now = at or utcnow()
    purposes = _session_purposes(vault)
    refusal = None
    with vault.transaction() as conn:
        tenant = get_tenant(conn, tenant_id)
        agreement = tenant.agreement
        if agreement is None or not agreement.in_force(now):
            refusal = (
                f"tenant {tenant_id} has no service and support agreement in force "
                "(error diagnosis rests on it: GDPR Art. 6(1)(b))"
            )
            _refuse_open(conn, vault, tenant_id, actor, refusal, purposes)
        else:
            expires = now + timedelta(hours=hours)
            if agreement.valid_to is not None:
                expires = min(expires, agreement.valid_to)  # never outlive the legal basis
            session = SupportSession(
                tenant_id, new_id(), ticket.strip(), engineer.strip(), now, expires, None
            )
            _insert(vault, conn, session)
            audited = _audited_purpose(purposes)
            details = {"session": session.session_id, "ticket": session.ticket, "hours": hours}
            audited["details"] = {**audited.get("details", {}), **details}
            entry = AuditEntry(actor=actor, action="support.open", **audited)
            vault.audit(conn, tenant_id, entry)
    if refusal:
        raise PolicyRefusal(refusal)
    return session


def _insert(vault: Vault, conn: Connection, session: SupportSession) -> None:
    wrapping = _wrapping_key(vault, conn, session.tenant_id)
    wrapped = seal(wrapping, new_key(), _key_aad(session.tenant_id, session.session_id))
    row = {
        "tenant_id": session.tenant_id,
        "session_id": session.session_id,
        "ticket": session.ticket,
        "engineer": session.engineer,
        "opened_at": session.opened_at,
        "expires_at": session.expires_at,
        "closed_at": None,
        "wrapped_key": wrapped,
        "reads": 0,
    }
    conn.execute(insert(support_sessions), [row])


def close_session(
    vault: Vault, tenant_id: str, session_id: str, *, actor: str = "operator"
) -> SupportSession:
    """Close the session and destroy its pseudonym key (its tokens become unlinkable for good)."""
    check_actor(actor)
    session_id = check_ref(session_id, field="session")
    now = utcnow()
    t = support_sessions.c
    with vault.transaction() as conn:
        session = get_session(conn, tenant_id, session_id=session_id)
        if session is None:
            raise NotFound(f"no support session {session_id} in tenant {tenant_id}")
        if session.closed_at is not None:
            return session
        conn.execute(
            update(support_sessions)
            .where(t.tenant_id == tenant_id, t.session_id == session.session_id)
            .values(closed_at=now, wrapped_key=None)
        )
        audited = _audited_purpose(_session_purposes(vault))
        details = {"session": session.session_id, "ticket": session.ticket}
        audited["details"] = {**audited.get("details", {}), **details}
        entry = AuditEntry(actor=actor, action="support.close", **audited)
        vault.audit(conn, tenant_id, entry)
    return replace(session, closed_at=now)


def get_session(
    conn: Connection, tenant_id: str, *, session_id: str | None = None, ticket: str | None = None
) -> SupportSession | None:
    """A session of this tenant by id, or the newest one for a ticket; None when there is none."""
    t = support_sessions.c
    query = select(support_sessions).where(t.tenant_id == tenant_id)
    if session_id is not None:
        query = query.where(t.session_id == session_id.strip())
    elif ticket is not None:
        query = query.where(t.ticket == ticket.strip())
    else:
        return None
    row = conn.execute(query.order_by(t.opened_at.desc()).limit(1)).first()
    return _session(row) if row else None


def session_key(vault: Vault, conn: Connection, session: SupportSession) -> bytes:
    """The session's pseudonym key; a closed session has none any more (NotFound)."""
    t = support_sessions.c
    wrapped = conn.scalar(
        select(t.wrapped_key).where(
            t.tenant_id == session.tenant_id, t.session_id == session.session_id
        )
    )
    if wrapped is None:
        raise NotFound(f"support session {session.session_id} is closed; its key is destroyed")
    wrapping = _wrapping_key(vault, conn, session.tenant_id)
    return open_sealed(wrapping, wrapped, _key_aad(session.tenant_id, session.session_id))


def count_read(conn: Connection, session: SupportSession) -> None:
    """Bookkeeping of a read inside the session, committed with the read's audit entry."""
    t = support_sessions.c
    conn.execute(
        update(support_sessions)
        .where(t.tenant_id == session.tenant_id, t.session_id == session.session_id)
        .values(reads=t.reads + 1)
    )
