"""Restriction of processing (GDPR Art. 18) and objection (Art. 21), per subject.

- A **restriction** stops every processing purpose for the subject: its data stays stored, but no read
  of any purpose is allowed until the restriction is lifted (Art. 18(1)-(2)).
- An **objection** names one purpose based on legitimate interest (or public task): that purpose may no
  longer process the subject's data (Art. 21(1)). A purpose based on consent is left by withdrawing
  consent (Art. 7(3)), not by objecting; one based on contract or a legal obligation admits no objection.

Each change commits with its audit entry. The gate reads the state through :func:`is_restricted` and
:func:`objections_of`; set-based work (statistics) excludes subjects through the ``*_subjects`` queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Select, and_, insert, or_, select, update

from callvault.clock import utcnow
from callvault.errors import InvalidInput
from callvault.rights.identity import Verification, identity_refusal
from callvault.rights.requests import finish_request, open_request, request_for
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.restrictions import subject_objections, subject_restrictions
from callvault.subjects.actors import check_actor
from callvault.subjects.directory import find_subject, new_id
from callvault.tenants import get_tenant
from callvault.vault import Vault

OBJECTABLE_BASES = ("legitimate_interest", "public_task")  # Art. 21(1): 6(1)(e) and (f)


@dataclass(frozen=True)
class Change:
    """What a restriction/objection command did: ``changed`` is False when nothing had to change."""

    subject_id: str
    changed: bool
    state: str
    request_id: str | None = None


def _active(
    started: ColumnElement[datetime], ended: ColumnElement[datetime], at: datetime
) -> ColumnElement[bool]:
    return and_(started <= at, or_(ended.is_(None), ended > at))


def is_restricted(conn: Connection, tenant_id: str, subject_id: str, at: datetime) -> bool:
    t = subject_restrictions.c
    found = conn.scalar(
        select(t.restriction_id)
        .where(t.tenant_id == tenant_id, t.subject_id == subject_id)
        .where(_active(t.restricted_at, t.lifted_at, at))
        .limit(1)
    )
    return found is not None


def objections_of(
    conn: Connection, tenant_id: str, subject_id: str, at: datetime
) -> frozenset[str]:
    """The purposes this subject objects to at ``at``."""
    t = subject_objections.c
    rows = conn.scalars(
        select(t.purpose)
        .where(t.tenant_id == tenant_id, t.subject_id == subject_id)
        .where(_active(t.objected_at, t.withdrawn_at, at))
    )
    return frozenset(rows)


def restricted_subjects(tenant_id: str, at: datetime) -> Select[tuple[str]]:
    """Subquery: subjects of the tenant under restriction at ``at``."""
    t = subject_restrictions.c
    return select(t.subject_id).where(
        t.tenant_id == tenant_id, _active(t.restricted_at, t.lifted_at, at)
    )


def objecting_subjects(tenant_id: str, purpose: str, at: datetime) -> Select[tuple[str]]:
    """Subquery: subjects of the tenant objecting to ``purpose`` at ``at``."""
    t = subject_objections.c
    return select(t.subject_id).where(
        t.tenant_id == tenant_id,
        t.purpose == purpose,
        _active(t.objected_at, t.withdrawn_at, at),
    )


def restrict(
    vault: Vault,
    tenant_id: str,
    subject: str,
    *,
    actor: str = "operator",
    lift: bool = False,
    verification: Verification | None = None,
    request_id: str | None = None,
) -> Change:
    """Restrict processing of the subject's data (or, with ``lift``, end the restriction).

    Recorded as a ``restriction`` request (answered at once), or answers the open request
    ``request_id``; ``verification`` defaults to the local operator vouching for it (``actor``)."""
    check_actor(actor)
    verified = verification or Verification.operator(actor)
    with vault.transaction() as conn:
        get_tenant(conn, tenant_id)
        subject_id = find_subject(vault, conn, tenant_id, subject)
        refusal = identity_refusal(vault, conn, tenant_id, subject_id, verified,
                                   action="restriction.add", actor=actor)  # fmt: skip
        if refusal is None:
            change = _restrict(vault, conn, tenant_id, subject_id, actor, lift)
            change = _answered(vault, conn, tenant_id, change, "restriction", actor, verified,
                               request_id)  # fmt: skip
    if refusal is not None:
        raise refusal
    return change


def _answered(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    change: Change,
    type_: str,
    actor: str,
    verification: Verification,
    request_id: str | None = None,
) -> Change:
    """Record the request that ``change`` answered (or take the open ``request_id``), completed,
    in the same transaction."""
    if request_id is None:
        rid = open_request(vault, conn, tenant_id, change.subject_id, type_, actor=actor,
                           verification=verification)  # fmt: skip
    else:
        rid = request_for(vault, conn, tenant_id, change.subject_id, type_, actor=actor,
                          verification=verification, request_id=request_id)  # fmt: skip
    outcome = f"{change.state}" if change.changed else f"no change: already {change.state}"
    finish_request(vault, conn, tenant_id, rid, "completed", actor=actor, outcome=outcome,
                   evidence={"state": change.state, "changed": change.changed})  # fmt: skip
    return Change(change.subject_id, change.changed, change.state, rid)


def _restrict(
    vault: Vault, conn: Connection, tenant_id: str, subject_id: str, actor: str, lift: bool
) -> Change:
    now = utcnow()
    t = subject_restrictions.c
    active = is_restricted(conn, tenant_id, subject_id, now)
    if active == (not lift):
        return Change(subject_id, False, "restricted" if active else "not restricted")
    if lift:
        conn.execute(
            update(subject_restrictions)
            .where(t.tenant_id == tenant_id, t.subject_id == subject_id, t.lifted_at.is_(None))
            .values(lifted_at=now)
        )
    else:
        row = {
            "tenant_id": tenant_id,
            "restriction_id": new_id(),
            "subject_id": subject_id,
            "restricted_at": now,
            "lifted_at": None,
        }
        conn.execute(insert(subject_restrictions), [row])
    action = "restriction.lift" if lift else "restriction.add"
    vault.audit(conn, tenant_id, AuditEntry(actor=actor, action=action, subject_id=subject_id))
    return Change(subject_id, True, "not restricted" if lift else "restricted")


def _objectable(vault: Vault, purpose: str) -> None:
    compiled = vault.policy.purposes.get(purpose)
    if compiled is None:
        raise InvalidInput(
            f"unknown purpose {purpose!r} (the policy has {', '.join(sorted(vault.policy.purposes))})",
            pointer="purpose",
        )
    if compiled.legal_basis == "consent":
        raise InvalidInput(
            f"{purpose} is based on consent: withdraw the consent instead (GDPR Art. 7(3))",
            pointer="purpose",
        )
    if compiled.legal_basis not in OBJECTABLE_BASES:
        raise InvalidInput(
            f"{purpose} is based on {compiled.legal_basis}; GDPR Art. 21(1) allows objection only "
            "to processing based on legitimate interest or a public task",
            pointer="purpose",
        )


def object_to(
    vault: Vault,
    tenant_id: str,
    subject: str,
    purpose: str,
    *,
    actor: str = "operator",
    withdraw: bool = False,
    verification: Verification | None = None,
    request_id: str | None = None,
) -> Change:
    """Record the subject's objection to ``purpose`` (or, with ``withdraw``, withdraw it), as an
    ``objection`` request answered at once (or the open ``request_id``); ``verification`` and
    ``request_id`` as for :func:`restrict`."""
    check_actor(actor)
    _objectable(vault, purpose)
    verified = verification or Verification.operator(actor)
    with vault.transaction() as conn:
        get_tenant(conn, tenant_id)
        subject_id = find_subject(vault, conn, tenant_id, subject)
        refusal = identity_refusal(vault, conn, tenant_id, subject_id, verified,
                                   action="objection.add", actor=actor)  # fmt: skip
        if refusal is None:
            change = _object(vault, conn, tenant_id, subject_id, purpose, actor, withdraw)
            change = _answered(vault, conn, tenant_id, change, "objection", actor, verified,
                               request_id)  # fmt: skip
    if refusal is not None:
        raise refusal
    return change


def _object(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    subject_id: str,
    purpose: str,
    actor: str,
    withdraw: bool,
) -> Change:
    now = utcnow()
    t = subject_objections.c
    active = purpose in objections_of(conn, tenant_id, subject_id, now)
    if active == (not withdraw):
        return Change(subject_id, False, "objected" if active else "not objected")
    if withdraw:
        conn.execute(
            update(subject_objections)
            .where(t.tenant_id == tenant_id, t.subject_id == subject_id)
            .where(t.purpose == purpose, t.withdrawn_at.is_(None))
            .values(withdrawn_at=now)
        )
    else:
        row = {
            "tenant_id": tenant_id,
            "objection_id": new_id(),
            "subject_id": subject_id,
            "purpose": purpose,
            "objected_at": now,
            "withdrawn_at": None,
        }
        conn.execute(insert(subject_objections), [row])
    basis = vault.policy.purposes[purpose].legal_basis
    entry = AuditEntry(
        actor=actor,
        action="objection.withdraw" if withdraw else "objection.add",
        purpose=purpose,
        legal_basis=basis,
        subject_id=subject_id,
    )
    vault.audit(conn, tenant_id, entry)
    return Change(subject_id, True, "not objected" if withdraw else "objected")
