"""Data subject requests as records: received, verified, due, extended, answered (Art. 12).

Every right a subject exercises (access Art. 15, rectification 16, erasure 17, restriction 18,
portability 20, objection 21) is a request with a due date one calendar month after receipt
(Art. 12(3)), extendable once by at most two further months with a reasoned notice given inside the
first month. Every state change commits with its audit entry. States follow OpenDSR's statuses
(``pending``, ``in_progress``, ``completed``, ``cancelled``) plus ``refused`` (Art. 12(4): the subject
is told why).

The acting functions (erasure, access, rectification, restriction, objection) open and complete their
request inside their own transaction through :func:`open_request` and :func:`finish_request`; the
``*_request`` functions are the library API an adapter (the OpenDSR service) builds on.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from callvault.clock import utcnow
from callvault.errors import InvalidInput, NotFound
from callvault.policy.periods import Period
from callvault.rights.identity import Verification, identity_refusal
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.requests import subject_requests
from callvault.subjects.actors import check_actor
from callvault.subjects.directory import find_subject
from callvault.tenants import get_tenant
from callvault.vault import Vault, after_commit

REQUEST_TYPES = ("access", "portability", "erasure", "rectification", "restriction", "objection")
REQUEST_STATES = ("pending", "in_progress", "completed", "refused", "cancelled")
OPEN_STATES = ("pending", "in_progress")
CHANNELS = ("cli", "api", "privacy_centre", "opendsr")
_NEXT = {"pending": set(REQUEST_STATES) - {"pending"}, "in_progress": {"completed", "refused",
                                                                       "cancelled"}}  # fmt: skip
CHANGED = "request"  # the after-commit event of a request's status change (OpenDSR callbacks)
ANSWER_WITHIN = Period(months=1)  # Art. 12(3)
MAX_EXTENSION_MONTHS = 2  # Art. 12(3): "by two further months where necessary"


@dataclass(frozen=True)
class SubjectRequest:
    """One request; ``due_at`` is the date in force (extended or not)."""

    request_id: str
    tenant_id: str
    type: str
    subject_id: str | None
    requested_by: str
    channel: str
    received_at: datetime
    verification_method: str | None
    verified_at: datetime | None
    verified_by: str | None
    due_at: datetime
    extended: bool
    extension_reason: str | None
    extension_notice_at: datetime | None
    state: str
    state_at: datetime
    outcome: str | None
    evidence: dict[str, Any] = field(default_factory=dict)
    callbacks: list[str] = field(default_factory=list)

    @property
    def verification(self) -> Verification | None:
        """The identity check recorded on the request (None while it is unverified): what an
        adapter acting on the request passes on, never a check its caller declares."""
        if self.verification_method is None:
            return None
        return Verification(self.verification_method, self.verified_by or "operator",
                            self.verified_at, self.subject_id)  # fmt: skip

    @property
    def is_open(self) -> bool:
        """Pending or in progress: the only states in which the request may still be acted on."""
        return self.state in OPEN_STATES

    def overdue(self, at: datetime | None = None) -> bool:
        return self.is_open and self.due_at < (at or utcnow())

    def as_dict(self, at: datetime | None = None) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        data["overdue"] = self.overdue(at)
        return data


def _from_row(row: Any) -> SubjectRequest:
    return SubjectRequest(
        request_id=row.request_id, tenant_id=row.tenant_id, type=row.type,
        subject_id=row.subject_id, requested_by=row.requested_by, channel=row.channel,
        received_at=row.received_at, verification_method=row.verification_method,
        verified_at=row.verified_at, verified_by=row.verified_by,
        due_at=row.extended_due_at or row.due_at, extended=row.extended_due_at is not None,
        extension_reason=row.extension_reason, extension_notice_at=row.extension_notice_at,
        state=row.state, state_at=row.state_at, outcome=row.outcome,
        evidence=dict(row.evidence or {}), callbacks=list(row.callbacks or []),
    )  # fmt: skip


def _check_choice(value: str, choices: tuple[str, ...], field_name: str) -> str:
    if value not in choices:
        raise InvalidInput(f"must be one of {', '.join(choices)}", pointer=field_name)
    return value


def _request_id(given: str | None) -> str:
    if given is None:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(given))
    except ValueError as exc:
        raise InvalidInput("must be a UUID", pointer="request_id") from exc


def open_request(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    subject_id: str | None,
    type_: str,
    *,
    actor: str,
    channel: str = "cli",
    verification: Verification | None = None,
    received_at: datetime | None = None,
    request_id: str | None = None,
    callbacks: list[str] | tuple[str, ...] = (),
) -> str:
    """Record a new ``pending`` request inside the caller's transaction, with its audit entry."""
    _check_choice(type_, REQUEST_TYPES, "type")
    _check_choice(channel, CHANNELS, "channel")
    received = received_at or utcnow()
    rid = _request_id(request_id)
    t = subject_requests.c
    if request_id is not None and conn.scalar(
        select(t.state).where(t.tenant_id == tenant_id, t.request_id == rid)
    ):
        raise InvalidInput("a request with this id was already received", pointer="request_id")
    due = ANSWER_WITHIN.after(received)
    row: dict[str, Any] = {
        "tenant_id": tenant_id, "request_id": rid, "type": type_, "subject_id": subject_id,
        "requested_by": check_actor(actor), "channel": channel, "received_at": received,
        "verification_method": verification.method if verification else None,
        "verified_at": (verification.at or received) if verification else None,
        "verified_by": check_actor(verification.by) if verification else None,
        "due_at": due, "state": "pending", "state_at": utcnow(),
        "outcome": None, "evidence": {}, "callbacks": list(callbacks),
    }  # fmt: skip
    conn.execute(insert(subject_requests), [row])
    details = {"request_id": rid, "type": type_, "channel": channel,
               "verification": row["verification_method"], "due_at": due.isoformat()}  # fmt: skip
    vault.audit(conn, tenant_id, AuditEntry(actor=actor, action="request.receive",
                                            subject_id=subject_id, details=details))  # fmt: skip
    after_commit(conn, (CHANGED, tenant_id, rid))
    return rid


def request_for(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    subject_id: str,
    type_: str,
    *,
    actor: str,
    verification: Verification | None,
    channel: str = "cli",
    request_id: str | None = None,
    reuse: bool = False,
) -> str:
    """The open request an action answers, moved to ``in_progress``: ``request_id`` when given
    (it must be an open request of this type for this subject), else a new one. With ``reuse``, a
    ``request_id`` this database does not hold (a restored backup) is recorded anew under it."""
    if request_id is not None:
        found = conn.scalar(select(subject_requests.c.state).where(
            subject_requests.c.tenant_id == tenant_id,
            subject_requests.c.request_id == _request_id(request_id)))  # fmt: skip
        if found is None and reuse:
            request_id = open_request(vault, conn, tenant_id, subject_id, type_, actor=actor,
                                      channel=channel, verification=verification,
                                      request_id=request_id)  # fmt: skip
        current = _load(conn, tenant_id, _request_id(request_id))
        if current.type != type_ or current.subject_id != subject_id:
            raise InvalidInput(f"the request is not a {type_} request of this subject",
                               pointer="request_id")  # fmt: skip
        check_open(current)
        rid = current.request_id
    else:
        rid = open_request(vault, conn, tenant_id, subject_id, type_, actor=actor,
                           channel=channel, verification=verification)  # fmt: skip
    if _load(conn, tenant_id, rid).state == "pending":
        finish_request(vault, conn, tenant_id, rid, "in_progress", actor=actor)
    return rid


def check_open(request: SubjectRequest) -> None:
    """Refuse to act on a request that is no longer open (cancelled, refused or completed): its
    answer is final, so nothing may be done in its name (Art. 12(3), 17)."""
    if not request.is_open:
        raise InvalidInput(f"the request is {request.state}: only a pending or in_progress request "
                           "can be carried out", pointer="request_id")  # fmt: skip


def _load(conn: Connection, tenant_id: str, request_id: str) -> SubjectRequest:
    t = subject_requests.c
    row = conn.execute(
        select(subject_requests).where(t.tenant_id == tenant_id, t.request_id == request_id)
    ).first()
    if row is None:
        raise NotFound(f"no such request in tenant {tenant_id}")
    return _from_row(row)


def finish_request(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    request_id: str,
    state: str,
    *,
    actor: str,
    outcome: str | None = None,
    evidence: dict[str, Any] | None = None,
) -> SubjectRequest:
    """Move a request to ``state`` inside the caller's transaction, with its audit entry.
    ``evidence`` holds counts, categories and laws only, never an identifier's value."""
    current = _load(conn, tenant_id, request_id)
    _check_choice(state, REQUEST_STATES, "state")
    if state not in _NEXT.get(current.state, set()):
        raise InvalidInput(f"a {current.state} request cannot become {state}", pointer="state")
    t = subject_requests.c
    now = utcnow()
    values: dict[str, Any] = {"state": state, "state_at": now}
    if outcome is not None:
        values["outcome"] = outcome
    if evidence is not None:
        values["evidence"] = evidence
    conn.execute(
        update(subject_requests)
        .where(t.tenant_id == tenant_id, t.request_id == request_id)
        .values(**values)
    )
    details = {"request_id": request_id, "type": current.type, "from": current.state, "to": state}
    vault.audit(conn, tenant_id, AuditEntry(actor=actor, action="request.state",
                                            subject_id=current.subject_id, reason=outcome,
                                            details=details))  # fmt: skip
    after_commit(conn, (CHANGED, tenant_id, request_id))
    return _load(conn, tenant_id, request_id)


def create_request(
    vault: Vault,
    tenant_id: str,
    subject: str,
    type_: str,
    *,
    actor: str = "operator",
    channel: str = "cli",
    verification: Verification | None = None,
    received_at: datetime | None = None,
    request_id: str | None = None,
    callbacks: list[str] | tuple[str, ...] = (),
) -> SubjectRequest:
    """Record a request received for ``subject`` (id, e-mail or number) of the tenant; it is
    answered later (erase/access/rectify) or moved on with the ``*_request`` functions."""
    with vault.transaction() as conn:
        get_tenant(conn, tenant_id)
        subject_id = find_subject(vault, conn, tenant_id, subject)
        rid = open_request(vault, conn, tenant_id, subject_id, type_, actor=actor,
                           channel=channel, verification=verification, received_at=received_at,
                           request_id=request_id, callbacks=callbacks)  # fmt: skip
        return _load(conn, tenant_id, rid)


def get_request(vault: Vault, tenant_id: str, request_id: str) -> SubjectRequest:
    with vault.engine.connect() as conn:
        return _load(conn, tenant_id, request_id)


def list_requests(
    vault: Vault,
    *,
    tenant: str | None = None,
    overdue: bool = False,
    at: datetime | None = None,
) -> list[SubjectRequest]:
    """Requests, oldest first; with ``overdue`` only those open past their due date at ``at``."""
    t = subject_requests.c
    moment = at or utcnow()
    query = select(subject_requests).order_by(t.tenant_id, t.received_at, t.request_id)
    if tenant is not None:
        query = query.where(t.tenant_id == tenant)
    if overdue:
        due = or_(t.extended_due_at < moment, t.extended_due_at.is_(None) & (t.due_at < moment))
        query = query.where(t.state.in_(OPEN_STATES), due)
    with vault.engine.connect() as conn:
        return [_from_row(row) for row in conn.execute(query)]


def _move(vault: Vault, tenant_id: str, request_id: str, state: str, actor: str,
          outcome: str | None = None, evidence: dict[str, Any] | None = None) -> SubjectRequest:  # fmt: skip
    check_actor(actor)
    with vault.transaction() as conn:
        return finish_request(vault, conn, tenant_id, request_id, state, actor=actor,
                              outcome=outcome, evidence=evidence)  # fmt: skip


def start_request(vault: Vault, tenant_id: str, request_id: str, *, actor: str = "operator") -> SubjectRequest:  # fmt: skip
    return _move(vault, tenant_id, request_id, "in_progress", actor)


def cancel_request(vault: Vault, tenant_id: str, request_id: str, *, actor: str = "operator") -> SubjectRequest:  # fmt: skip
    """Cancel an open request (the subject or the controller withdrew it)."""
    return _move(vault, tenant_id, request_id, "cancelled", actor)


def refuse_request(vault: Vault, tenant_id: str, request_id: str, reason: str, *,
                   actor: str = "operator") -> SubjectRequest:  # fmt: skip
    """Refuse an open request; ``reason`` is told to the subject (Art. 12(4)): no identifier in it."""
    return _move(vault, tenant_id, request_id, "refused", actor, outcome=reason)


def complete_request(vault: Vault, tenant_id: str, request_id: str, outcome: str, *,
                     evidence: dict[str, Any] | None = None,
                     actor: str = "operator") -> SubjectRequest:  # fmt: skip
    """Mark an open request answered, with its outcome and evidence (never identifier values)."""
    return _move(vault, tenant_id, request_id, "completed", actor, outcome, evidence)


def extend_request(
    vault: Vault,
    tenant_id: str,
    request_id: str,
    *,
    months: int,
    reason: str,
    actor: str = "operator",
    notice_at: datetime | None = None,
) -> SubjectRequest:
    """Extend the due date by ``months`` (1 or 2) beyond the first month; allowed only while the
    first month runs, with the reason the subject is told (Art. 12(3))."""
    check_actor(actor)
    if not 1 <= months <= MAX_EXTENSION_MONTHS:
        raise InvalidInput("an extension is one or two months (GDPR Art. 12(3))", pointer="months")
    if not reason.strip():
        raise InvalidInput("an extension needs its reason (GDPR Art. 12(3))", pointer="reason")
    notice = notice_at or utcnow()
    t = subject_requests.c
    with vault.transaction() as conn:
        current = _load(conn, tenant_id, request_id)
        first_month = ANSWER_WITHIN.after(current.received_at)
        if current.state not in OPEN_STATES or notice > first_month:
            raise InvalidInput("only an open request inside its first month can be extended "
                               "(GDPR Art. 12(3))", pointer="notice_at")  # fmt: skip
        due = Period(months=1 + months).after(current.received_at)
        conn.execute(
            update(subject_requests)
            .where(t.tenant_id == tenant_id, t.request_id == request_id)
            .values(extended_due_at=due, extension_reason=reason.strip(),
                    extension_notice_at=notice)
        )  # fmt: skip
        details = {"request_id": request_id, "type": current.type, "months": months,
                   "due_at": due.isoformat()}  # fmt: skip
        vault.audit(conn, tenant_id, AuditEntry(actor=actor, action="request.extend",
                                                subject_id=current.subject_id,
                                                details=details))  # fmt: skip
        return _load(conn, tenant_id, request_id)


def verify_request(
    vault: Vault,
    tenant_id: str,
    request_id: str,
    verification: Verification,
    *,
    actor: str = "operator",
) -> SubjectRequest:
    """Record the identity check of an open request received unverified (an OpenDSR request, a
    privacy-centre form); one that does not hold for the request's subject is refused (exit 3) and
    audited, and the request stays unverified (Art. 12(6))."""
    check_actor(actor)
    t = subject_requests.c
    with vault.transaction() as conn:
        current = _load(conn, tenant_id, request_id)
        if current.state not in OPEN_STATES or current.subject_id is None:
            raise InvalidInput("only an open request of a known subject can be verified",
                               pointer="request_id")  # fmt: skip
        refusal = identity_refusal(vault, conn, tenant_id, current.subject_id, verification,
                                   action="request.verify", actor=actor)  # fmt: skip
        if refusal is None:
            conn.execute(update(subject_requests)
                         .where(t.tenant_id == tenant_id, t.request_id == request_id)
                         .values(verification_method=verification.method,
                                 verified_at=verification.at or utcnow(),
                                 verified_by=check_actor(verification.by)))  # fmt: skip
            details = {"request_id": request_id, "method": verification.method}
            vault.audit(conn, tenant_id, AuditEntry(actor=actor, action="request.verify",
                                                    subject_id=current.subject_id,
                                                    details=details))  # fmt: skip
            found = _load(conn, tenant_id, request_id)
    if refusal is not None:
        raise refusal
    return found
