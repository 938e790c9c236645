"""Support sessions: error diagnosis happens only inside one (GDPR Art. 6(1)(b), Art. 25, Art. 32).

A support engineer opens a session for one tenant and one ticket, for a few hours; it can never outlive
the tenant's service and support agreement, which is the legal basis of the work. Each session gets its
own random pseudonym key, kept wrapped by the master key in the key store (a rotation re-wraps it with
the rest, so open sessions stay usable). Reads
inside the session turn numbers, names and e-mails into HMAC tokens under that key: stable within the
session (an engineer can follow one caller through the records) and unlinkable across sessions. Closing
the session destroys its key in the key store once the close commits, so its tokens can never be
recomputed, not even from a backup of the data (Art. 4(5)).

The tenant instructs the work (Art. 28(3)(a)): a session is opened only on the instruction of a
tenant admin (``approved_by="tenant-admin:<name>"``, audited; anything else is refused, exit 3), and
it names the subjects of its ticket (one or more, by id, e-mail or number). Reads in the session of
any other subject are refused by the gate (exit 3): diagnosis of one ticket needs that ticket's
people, not the whole tenant (Art. 5(1)(c), Art. 25(2)). An engineer may also ask for a session,
which the tenant admin approves or denies later (:mod:`callvault.processing.support_requests`).

A session belongs to its engineer: reads in it are made as the actor ``support:<engineer>``
(``--engineer eng-joe`` opens a session read as ``--actor support:eng-joe``); anyone else is refused,
even with the right ticket. Engineer names and tickets follow :mod:`callvault.subjects.actors`: no e-mail
address or telephone number reaches the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, insert, select, update

from callvault.clock import utcnow
from callvault.errors import InvalidInput, NotFound, PolicyRefusal
from callvault.policy import CompiledPurpose
from callvault.policy.model import SUPPORT_SESSION
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.support import support_session_subjects, support_sessions
from callvault.subjects.actors import check_actor, check_ref
from callvault.subjects.directory import find_subject, new_id
from callvault.tenants import Tenant, get_tenant
from callvault.vault import Vault, queue_shreds

MAX_HOURS = 168  # a week: a session is time-boxed, not a standing permission
APPROVER_ROLE = (
    "tenant-admin"  # the controller's voice: only it instructs diagnosis (Art. 28(3)(a))
)


@dataclass(frozen=True, slots=True)
class SupportSession:
    tenant_id: str
    session_id: str
    ticket: str
    engineer: str
    opened_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    approved_by: str | None = None
    subjects: frozenset[str] = frozenset()  # the ticket's subjects: nobody else is readable

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
            "approved_by": self.approved_by,
            "subjects": sorted(self.subjects),
        }


def _session(conn: Connection, row: object) -> SupportSession:
    r = row._mapping  # type: ignore[attr-defined]
    t = support_session_subjects.c
    scope = conn.scalars(
        select(t.subject_id).where(t.tenant_id == r["tenant_id"], t.session_id == r["session_id"])
    )
    return SupportSession(
        r["tenant_id"],
        r["session_id"],
        r["ticket"],
        r["engineer"],
        r["opened_at"],
        r["expires_at"],
        r["closed_at"],
        r["approved_by"],
        frozenset(scope),
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
    conn: Connection,
    vault: Vault,
    tenant_id: str,
    actor: str,
    reason: str,
    purposes: list[Any],
    approved_by: str,
) -> None:
    audited = _audited_purpose(purposes)
    audited["details"] = {**audited.get("details", {}), "approved_by": approved_by}
    entry = AuditEntry(actor=actor, action="support.open", outcome="deny", reason=reason, **audited)
    vault.audit(conn, tenant_id, entry)


def _approver_refusal(approved_by: str) -> str | None:
    """Why ``approved_by`` cannot instruct a session, or None when it is a named tenant admin."""
    role, _, name = approved_by.partition(":")
    if role == APPROVER_ROLE and name:
        return None
    return (
        "not approved by the tenant: a support session is opened on the instruction of a tenant "
        f"admin ({APPROVER_ROLE}:<name>), whose support agreement it serves (GDPR Art. 28(3)(a))"
    )


def _agreement_refusal(tenant: Tenant, now: datetime) -> str | None:
    agreement = tenant.agreement
    if agreement is not None and agreement.in_force(now):
        return None
    return (
        f"tenant {tenant.id} has no service and support agreement in force "
        "(error diagnosis rests on it: GDPR Art. 6(1)(b))"
    )


def _check_request(ticket: str, engineer: str, hours: float, subjects: Sequence[str]) -> None:
    if not ticket.strip() or not engineer.strip():
        raise InvalidInput("a support session needs a ticket and an engineer", pointer="ticket")
    if not 0 < hours <= MAX_HOURS:
        raise InvalidInput(f"--hours must be in (0, {MAX_HOURS}]", pointer="hours")
    if not subjects:
        raise InvalidInput("a support session names the subjects of its ticket", pointer="subject")


def open_session(
    vault: Vault,
    tenant_id: str,
    *,
    ticket: str,
    engineer: str,
    hours: float,
    approved_by: str,
    subjects: Sequence[str],
    actor: str | None = None,
    at: datetime | None = None,
) -> SupportSession:
    """Open a time-boxed session for the ``subjects`` of ``ticket`` on the instruction of the tenant
    admin ``approved_by``; refused (exit 3, audited) unless that is a tenant admin and the tenant's
    agreement is in force. A subject that is not the tenant's is NotFound (exit 4)."""
    _check_request(ticket, engineer, hours, subjects)
    ticket = check_ref(ticket, field="ticket")
    engineer = engineer.strip().removeprefix("support:")
    actor = check_actor(actor or f"support:{engineer}")
    check_actor(f"support:{engineer}")  # the engineer's name is audited as a role name
    approved_by = check_actor(approved_by.strip())
    now = at or utcnow()
    purposes = _session_purposes(vault)
    with vault.transaction() as conn:
        tenant = get_tenant(conn, tenant_id)
        scope = frozenset(find_subject(vault, conn, tenant_id, text) for text in subjects)
        refusal = _approver_refusal(approved_by) or _agreement_refusal(tenant, now)
        if refusal:
            _refuse_open(conn, vault, tenant_id, actor, refusal, purposes, approved_by)
        else:
            session = _new_session(tenant, ticket, engineer, hours, now, approved_by, scope)
            _insert(vault, conn, session)
            audited = _audited_purpose(purposes)
            details = {"session": session.session_id, "ticket": session.ticket, "hours": hours,
                       "approved_by": approved_by, "subjects": sorted(scope)}  # fmt: skip
            audited["details"] = {**audited.get("details", {}), **details}
            entry = AuditEntry(actor=actor, action="support.open", **audited)
            vault.audit(conn, tenant_id, entry)
    if refusal:
        raise PolicyRefusal(refusal)
    return session


def _new_session(
    tenant: Tenant,
    ticket: str,
    engineer: str,
    hours: float,
    now: datetime,
    approved_by: str,
    scope: frozenset[str],
) -> SupportSession:
    expires = now + timedelta(hours=hours)
    if tenant.agreement is not None and tenant.agreement.valid_to is not None:
        expires = min(expires, tenant.agreement.valid_to)  # never outlive the legal basis
    return SupportSession(
        tenant.id, new_id(), ticket.strip(), engineer, now, expires, None, approved_by, scope
    )


def _insert(vault: Vault, conn: Connection, session: SupportSession) -> None:
    # The session's own key lives in the key store: closing destroys it there, so no backup of the
    # data can bring back the tokens it made (Art. 4(5)).
    vault.keyring.new_session_key(session.tenant_id, session.session_id)
    row = {
        "tenant_id": session.tenant_id,
        "session_id": session.session_id,
        "ticket": session.ticket,
        "engineer": session.engineer,
        "opened_at": session.opened_at,
        "expires_at": session.expires_at,
        "closed_at": None,
        "reads": 0,
        "approved_by": session.approved_by,
    }
    conn.execute(insert(support_sessions), [row])
    scope = [
        {"tenant_id": session.tenant_id, "session_id": session.session_id, "subject_id": sid}
        for sid in sorted(session.subjects)
    ]
    conn.execute(insert(support_session_subjects), scope)


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
            .values(closed_at=now)
        )
        queue_shreds(conn, tenant_id, [session.session_id], kind="session")  # after the commit
        audited = _audited_purpose(_session_purposes(vault))
        details = {"session": session.session_id, "ticket": session.ticket}
        audited["details"] = {**audited.get("details", {}), **details}
        entry = AuditEntry(actor=actor, action="support.close", **audited)
        vault.audit(conn, tenant_id, entry)
    return replace(session, closed_at=now)


def awaiting_approval() -> ColumnElement[bool]:
    """Rows that are an engineer's request awaiting the tenant admin: no approver, not closed, an
    empty window (see :mod:`callvault.processing.support_requests`)."""
    t = support_sessions.c
    return and_(t.approved_by.is_(None), t.closed_at.is_(None), t.expires_at == t.opened_at)


def get_session(
    conn: Connection, tenant_id: str, *, session_id: str | None = None, ticket: str | None = None
) -> SupportSession | None:
    """A session of this tenant by id, or the newest one for a ticket; None when there is none."""
    t = support_sessions.c
    # A request still awaiting the tenant admin is no session (processing/support_requests.py).
    query = select(support_sessions).where(t.tenant_id == tenant_id, ~awaiting_approval())
    if session_id is not None:
        query = query.where(t.session_id == session_id.strip())
    elif ticket is not None:
        query = query.where(t.ticket == ticket.strip())
    else:
        return None
    row = conn.execute(query.order_by(t.opened_at.desc()).limit(1)).first()
    return _session(conn, row) if row else None


def session_key(vault: Vault, conn: Connection, session: SupportSession) -> bytes:
    """The session's pseudonym key; a closed session has none any more (NotFound)."""
    key = None if session.closed_at else vault.keyring.session_key(session.tenant_id,
                                                                   session.session_id)  # fmt: skip
    if key is None:
        raise NotFound(f"support session {session.session_id} is closed; its key is destroyed")
    return key


def count_read(conn: Connection, session: SupportSession) -> None:
    """Bookkeeping of a read inside the session, committed with the read's audit entry."""
    t = support_sessions.c
    conn.execute(
        update(support_sessions)
        .where(t.tenant_id == session.tenant_id, t.session_id == session.session_id)
        .values(reads=t.reads + 1)
    )
