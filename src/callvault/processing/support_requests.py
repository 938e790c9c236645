"""Support sessions asked for by an engineer and approved or denied by the tenant's admin.

A support engineer asks for a session for one ticket and its subjects; nothing is readable yet. The
tenant admin, the controller's voice (Art. 28(3)(a)), then approves it, choosing how long it runs, or
denies it. Approval opens the session exactly as :func:`~callvault.processing.support.open_session`
does (the agreement must be in force, Art. 6(1)(b); the session's pseudonym key is made only now),
so an unapproved request can never be read in.

A pending request is a ``support_sessions`` row with no approver, not closed, whose window is empty
(``expires_at == opened_at``, the time it was asked): the gate refuses reads in it as expired, and
:func:`~callvault.processing.support.get_session` never returns it. A denial closes it. Requests not
answered within :data:`PENDING_FOR` drop out of the list: the engineer asks again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from callvault.clock import utcnow
from callvault.errors import InvalidInput, NotFound, PolicyRefusal
from callvault.processing.support import (
    MAX_HOURS,
    SupportSession,
    _agreement_refusal,
    _approver_refusal,
    _audited_purpose,
    _session,
    _session_purposes,
    awaiting_approval,
)
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.support import support_session_subjects, support_sessions
from callvault.subjects.actors import check_actor, check_note, check_ref
from callvault.subjects.directory import find_subject, new_id
from callvault.tenants import get_tenant
from callvault.vault import Vault

PENDING_FOR = timedelta(days=7)  # an unanswered request goes stale: the engineer asks again


def request_session(
    vault: Vault, tenant_id: str, *, ticket: str, engineer: str, subjects: Sequence[str],
    actor: str | None = None, at: datetime | None = None,
) -> SupportSession:  # fmt: skip
    """Ask the tenant admin for a session for ``ticket`` and its ``subjects`` (audited
    ``support.request``); nothing is readable until :func:`approve_session`."""
    if not ticket.strip() or not engineer.strip() or not subjects:
        raise InvalidInput("a support session request needs a ticket, an engineer and the "
                           "ticket's subjects", pointer="ticket")  # fmt: skip
    ticket = check_ref(ticket, field="ticket")
    engineer = engineer.strip().removeprefix("support:")
    check_actor(f"support:{engineer}")
    actor = check_actor(actor or f"support:{engineer}")
    now = at or utcnow()
    with vault.transaction() as conn:
        get_tenant(conn, tenant_id)
        scope = frozenset(find_subject(vault, conn, tenant_id, text) for text in subjects)
        session = SupportSession(tenant_id, new_id(), ticket, engineer, now, now, None, None, scope)
        conn.execute(insert(support_sessions), [{
            "tenant_id": tenant_id, "session_id": session.session_id, "ticket": ticket,
            "engineer": engineer, "opened_at": now, "expires_at": now, "closed_at": None,
            "reads": 0, "approved_by": None}])  # fmt: skip
        conn.execute(insert(support_session_subjects), [
            {"tenant_id": tenant_id, "session_id": session.session_id, "subject_id": sid}
            for sid in sorted(scope)])  # fmt: skip
        details = {"session": session.session_id, "ticket": ticket, "subjects": len(scope)}
        vault.audit(conn, tenant_id, AuditEntry(actor=actor, action="support.request",
                                                details=details))  # fmt: skip
    return session


def pending_sessions(vault: Vault, tenant_id: str, *, at: datetime | None = None) -> list[SupportSession]:  # fmt: skip
    """The tenant's requests awaiting approval, oldest first (the last :data:`PENDING_FOR`)."""
    t = support_sessions.c
    since = (at or utcnow()) - PENDING_FOR
    query = (select(support_sessions)
             .where(t.tenant_id == tenant_id, awaiting_approval(), t.opened_at >= since)
             .order_by(t.opened_at, t.session_id))  # fmt: skip
    with vault.engine.connect() as conn:
        return [_session(conn, row) for row in conn.execute(query)]


def _pending(conn: Connection, tenant_id: str, session_id: str) -> SupportSession:
    t = support_sessions.c
    row = conn.execute(select(support_sessions).where(
        t.tenant_id == tenant_id, t.session_id == session_id, awaiting_approval())).first()  # fmt: skip
    if row is None:
        raise NotFound("no such support session request")
    return _session(conn, row)


def approve_session(
    vault: Vault, tenant_id: str, session_id: str, *, approved_by: str, hours: float,
    at: datetime | None = None,
) -> SupportSession:  # fmt: skip
    """Open the requested session for ``hours`` on the instruction of the tenant admin
    ``approved_by``: refused (exit 3, audited ``support.open``) unless that is a tenant admin and
    the agreement is in force; NotFound unless it is a pending request of this tenant."""
    if not 0 < hours <= MAX_HOURS:
        raise InvalidInput(f"hours must be in (0, {MAX_HOURS}]", pointer="hours")
    session_id = check_ref(session_id, field="session")
    approved_by = check_actor(approved_by.strip())
    now = at or utcnow()
    purposes = _session_purposes(vault)
    t = support_sessions.c
    with vault.transaction() as conn:
        tenant = get_tenant(conn, tenant_id)
        asked = _pending(conn, tenant_id, session_id)
        refusal = _approver_refusal(approved_by) or _agreement_refusal(tenant, now)
        audited = _audited_purpose(purposes)
        details = {"session": session_id, "ticket": asked.ticket, "approved_by": approved_by}
        audited["details"] = {**audited.get("details", {}), **details}
        if refusal:
            vault.audit(conn, tenant_id, AuditEntry(actor=approved_by, action="support.open",
                                                    outcome="deny", reason=refusal, **audited))  # fmt: skip
        else:
            expires = now + timedelta(hours=hours)
            if tenant.agreement is not None and tenant.agreement.valid_to is not None:
                expires = min(expires, tenant.agreement.valid_to)  # never outlive the basis
            vault.keyring.new_session_key(tenant_id, session_id)
            conn.execute(update(support_sessions)
                         .where(t.tenant_id == tenant_id, t.session_id == session_id)
                         .values(opened_at=now, expires_at=expires, approved_by=approved_by))  # fmt: skip
            audited["details"]["hours"] = hours
            vault.audit(conn, tenant_id, AuditEntry(actor=approved_by, action="support.open",
                                                    **audited))  # fmt: skip
            opened = _pending_or_open(conn, tenant_id, session_id)
    if refusal:
        raise PolicyRefusal(refusal)
    return opened


def _pending_or_open(conn: Connection, tenant_id: str, session_id: str) -> SupportSession:
    t = support_sessions.c
    row = conn.execute(select(support_sessions).where(
        t.tenant_id == tenant_id, t.session_id == session_id)).one()  # fmt: skip
    return _session(conn, row)


def deny_session(
    vault: Vault, tenant_id: str, session_id: str, *, actor: str, reason: str
) -> SupportSession:
    """Deny a pending request (closed unopened, audited ``support.deny`` with the reason, which
    names no person); NotFound unless it is a pending request of this tenant."""
    check_actor(actor)
    session_id = check_ref(session_id, field="session")
    if not reason.strip():
        raise InvalidInput("a denial needs its reason", pointer="reason")
    reason = check_note(reason, field="reason")  # it goes into the audit log, kept for good
    t = support_sessions.c
    with vault.transaction() as conn:
        asked = _pending(conn, tenant_id, session_id)
        conn.execute(update(support_sessions)
                     .where(t.tenant_id == tenant_id, t.session_id == session_id)
                     .values(closed_at=utcnow()))  # fmt: skip
        details = {"session": session_id, "ticket": asked.ticket}
        vault.audit(conn, tenant_id, AuditEntry(actor=actor, action="support.deny",
                                                outcome="deny", reason=reason[:500],
                                                details=details))  # fmt: skip
        return _pending_or_open(conn, tenant_id, session_id)
