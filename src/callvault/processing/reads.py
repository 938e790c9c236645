"""Purpose-bound reads: every read names an actor and a purpose and returns only what the gate allows.

The gate (:func:`callvault.processing.gate.decide`) decides from the policy, the tenant's profile and agreement and
the subject's consent, restriction, objections and support session; this module loads that context,
asks, audits the decision (allowed or denied) in the same transaction as the read's bookkeeping, and
assembles the answer from the allowed categories only (GDPR Art. 5(1)(b)-(c), Art. 25(2)):

- ``profile``: the subject's decrypted identifiers whose category is allowed;
- ``calls``: the subject's call history (time, direction, outcome, durations, the other party only if
  phone numbers are allowed) and the derived ``frequent_contacts``;
- ``voicemails``: voicemail metadata and id (the audio only through
  :func:`callvault.processing.recordings.read_voicemail`, its own gate decision).

Nothing past its retention period is served (Art. 5(1)(e)), whether or not retention has run: every
part of an answer is bounded by the tenant's effective rules (:func:`callvault.retention.rules.held_from`),
asked at the moment of the read; an offboarded user's profile past its grace period shows nothing.

Categories the purpose pseudonymises (error diagnosis) leave as keyed tokens (Art. 4(5)): under the
support session's key, so they are stable within a session and unlinkable across sessions; without a
session the gate denies (there is no tenant-wide fallback key). Under a purpose resting on consent the
other party of a call, a person who did not consent, is a colleague's name or a contact token, never a
number (see :mod:`callvault.processing.parties`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, or_, select

from callvault.clock import utcnow
from callvault.crypto.pseudonyms import token
from callvault.errors import PolicyRefusal
from callvault.policy.taxonomy import CALL_HISTORY, COLUMN_CATEGORIES, NAME, PHONE, VOICEMAIL
from callvault.processing.context import load_context
from callvault.processing.gate import Decision, decide
from callvault.processing.parties import contact_key, contact_labels, party_numbers
from callvault.processing.support import SupportSession, count_read, session_key
from callvault.retention.rules import held_from
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.core import calls, subjects, voicemails
from callvault.subjects.actors import check_actor, check_ref
from callvault.subjects.directory import find_subject, subject_identifiers_of
from callvault.tenants import get_tenant
from callvault.vault import Vault

# Identifier kind -> category (external_id is the directory's surrogate, not read out).
KIND_CATEGORY = {**COLUMN_CATEGORIES, "endpoint": PHONE}  # the endpoints column's kind
TOKEN_PREFIX = {
    "endpoint": "sip",
    "name": "name",
    "email": "mail",
    "phone": "tel",
    "extension": "ext",
    "department": "org",
}
# Which category each part of an answer discloses: a test checks answers against it.
FIELD_CATEGORIES = {
    **{f"profile.{kind}": category for kind, category in KIND_CATEGORY.items()},
    "calls": CALL_HISTORY,
    "frequent_contacts": CALL_HISTORY,
    "voicemails": VOICEMAIL,
    "voicemail_id": VOICEMAIL,
    "other_party": PHONE,
    "caller": PHONE,
}
FREQUENT_CONTACTS = 10


@dataclass(frozen=True)
class Renderer:
    """Turns a decrypted value into what leaves the gate: itself, or a keyed token."""

    key: bytes | None
    pseudonymise: frozenset[str]
    contacts: bytes | None = None  # set: other parties as colleague names or contact tokens

    def __call__(self, kind: str, value: str) -> str:
        if self.key is not None and KIND_CATEGORY.get(kind) in self.pseudonymise:
            return token(self.key, TOKEN_PREFIX[kind], value)
        return value


CLEAR = Renderer(None, frozenset())


def shown_parties(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    party_ids: Iterable[str],
    allowed: frozenset[str],
    render: Renderer,
) -> dict[str, str]:
    """{party id: what the answer shows of that other party} (Art. 15(4): as reads show them)."""
    if render.contacts is not None:
        names = NAME in allowed
        return contact_labels(vault, conn, tenant_id, party_ids, key=render.contacts, names=names)
    numbers = party_numbers(vault, conn, tenant_id, party_ids)
    return {pid: render(kind, value) for pid, (kind, value) in numbers.items()}


def _profile(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    subject_id: str,
    allowed: frozenset[str],
    render: Renderer,
    oldest: datetime,
) -> dict[str, list[str]]:
    offboarded = conn.scalar(
        select(subjects.c.offboarded_at).where(
            subjects.c.tenant_id == tenant_id, subjects.c.subject_id == subject_id
        )
    )
    if offboarded is not None and offboarded < oldest:
        return {}  # past the profile's grace period: not served, even before retention deletes it
    values = subject_identifiers_of(vault, conn, tenant_id, subject_id)
    return {
        kind: [render(kind, v) for v in items]
        for kind, items in values.items()
        if KIND_CATEGORY.get(kind) in allowed
    }


def _call_history(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    subject_id: str,
    allowed: frozenset[str],
    render: Renderer,
    oldest: datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    c = calls.c
    # No ORDER BY: sorting in SQL made SQLite walk the (tenant, started_at) index over every call
    # in the retention window, a cost that grew with the table; the two party indexes find the
    # subject's calls, and sorting them here costs only their number.
    query = (
        select(c.started_at, c.created_at, c.direction, c.outcome, c.duration_s, c.billsec_s,
               c.caller_subject_id, c.callee_subject_id)
        .where(c.tenant_id == tenant_id, c.started_at >= oldest)
        .where(or_(c.caller_subject_id == subject_id, c.callee_subject_id == subject_id))
    )  # fmt: skip
    rows = sorted(conn.execute(query), key=itemgetter(0, 1))  # ties: in the order they arrived
    others = [callee if caller == subject_id else caller for *_, caller, callee in rows]
    ids = filter(None, others)
    shown = shown_parties(vault, conn, tenant_id, ids, allowed, render) if PHONE in allowed else {}
    history = []
    for (started, _, direction, outcome, duration, billsec, caller, _), other in zip(
        rows, others, strict=True
    ):
        entry: dict[str, Any] = {
            "started_at": started.isoformat(),
            "role": "caller" if caller == subject_id else "callee",
            "direction": direction,
            "outcome": outcome,
            "duration_s": duration,
            "billsec_s": billsec,
        }
        if PHONE in allowed:
            entry["other_party"] = shown.get(other) if other else None
        history.append(entry)
    counts = Counter(o for o in others if o)
    frequent = [
        {"other_party": shown.get(pid), "calls": n} if PHONE in allowed else {"calls": n}
        for pid, n in counts.most_common(FREQUENT_CONTACTS)
    ]
    return history, frequent


def _voicemails(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    subject_id: str,
    allowed: frozenset[str],
    render: Renderer,
    oldest: datetime,
) -> list[dict[str, Any]]:
    v = voicemails.c
    rows = conn.execute(
        select(v.voicemail_id, v.received_at, v.duration_s, v.folder, v.caller_subject_id)
        .where(v.tenant_id == tenant_id, v.mailbox_subject_id == subject_id)
        .where(v.received_at >= oldest)
        .order_by(v.received_at)
    ).all()
    callers = {r.caller_subject_id for r in rows if r.caller_subject_id}
    shown = (
        shown_parties(vault, conn, tenant_id, callers, allowed, render) if PHONE in allowed else {}
    )
    out = []
    for row in rows:
        # The id asks for the recording (callvault.read_voicemail); a token under pseudonymisation.
        vid = token(render.key, "voicemail", row.voicemail_id) if render.key else row.voicemail_id
        entry: dict[str, Any] = {
            "voicemail_id": vid,
            "received_at": row.received_at.isoformat(),
            "duration_s": row.duration_s,
            "folder": row.folder,
        }
        if PHONE in allowed:
            entry["caller"] = shown.get(row.caller_subject_id or "")
        out.append(entry)
    return out


def subject_data(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    subject_id: str,
    allowed: frozenset[str],
    render: Renderer = CLEAR,
    *,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The subject's data in the ``allowed`` categories only, none of it past its period at ``at``."""
    limits = held_from(vault, get_tenant(conn, tenant_id), at or utcnow())
    args = (vault, conn, tenant_id, subject_id, allowed, render)
    data: dict[str, Any] = {"profile": _profile(*args, limits["subject_profile"])}
    if CALL_HISTORY in allowed:
        history, frequent = _call_history(*args, limits["call_record"])
        data["calls"], data["frequent_contacts"] = history, frequent
    if VOICEMAIL in allowed:
        data["voicemails"] = _voicemails(*args, limits["voicemail"])
    return data


def audit_decision(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    actor: str,
    action: str,
    subject_id: str | None,
    purpose: str,
    decision: Decision,
    **details: Any,
) -> None:
    """Every decision, allowed or denied, is an audit entry (Art. 5(2), Art. 30)."""
    asked = vault.policy.purposes.get(purpose)
    categories = decision.categories if decision.allowed else (asked.categories if asked else ())
    entry = AuditEntry(
        actor=actor,
        action=action,
        outcome="allow" if decision.allowed else "deny",
        purpose=purpose if asked else None,  # an unknown purpose is raw input: not recorded
        legal_basis=decision.legal_basis,
        subject_id=subject_id,
        categories=sorted(categories),
        reason=decision.reason,
        details={"rule": decision.rule, **details},
    )
    vault.audit(conn, tenant_id, entry)


def _renderer(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    purpose: str,
    decision: Decision,
    session: SupportSession | None,
) -> Renderer:
    compiled = vault.policy.purposes[purpose]
    pseudonymise = compiled.pseudonymise & decision.categories
    # The other party never consented: one subject's consent shows no one else's number (Art. 6(1)).
    contacts = contact_key(vault, conn, tenant_id) if compiled.legal_basis == "consent" else None
    if not pseudonymise:
        return Renderer(None, frozenset(), contacts)
    if session is None:  # the gate denies this (rule 7); never fall back to a tenant-wide key
        raise PolicyRefusal("no support session: pseudonymised reads need a session key")
    return Renderer(session_key(vault, conn, session), pseudonymise, contacts)


def read_subject(
    vault: Vault,
    tenant_id: str,
    subject: str,
    purpose: str,
    actor: str,
    *,
    ticket: str | None = None,
    session: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The subject's data as ``purpose`` may see it; PolicyRefusal (exit 3) with the reason if not.

    A subject of another tenant is NotFound (exit 4): no read reveals that it exists elsewhere.
    ``actor`` is a role (:func:`callvault.subjects.actors.check_actor`); in a support session it must be
    ``support:<engineer>`` of that session.
    """
    check_actor(actor)
    ticket = check_ref(ticket, field="ticket") if ticket else None
    session = check_ref(session, field="session") if session else None
    at = at or utcnow()
    with vault.transaction() as conn:
        tenant = get_tenant(conn, tenant_id)
        subject_id = find_subject(vault, conn, tenant_id, subject)
        ctx, sess = load_context(
            conn,
            vault.policy,
            tenant_id,
            subject_id,
            purpose,
            at,
            ticket=ticket,
            session_id=session,
        )
        decision = decide(actor, tenant, subject_id, purpose, None, at, ctx=ctx)
        details: dict[str, Any] = {"session": sess.session_id} if sess else {}
        if ticket:
            details["ticket"] = ticket
        if decision.allowed:
            render = _renderer(vault, conn, tenant_id, purpose, decision, sess)
            categories = decision.categories
            data = subject_data(vault, conn, tenant_id, subject_id, categories, render, at=at)
            details["calls"] = len(data.get("calls", ()))
            if sess is not None:
                count_read(conn, sess)
        audit_decision(
            vault, conn, tenant_id, actor, "read", subject_id, purpose, decision, **details
        )
    if not decision.allowed:
        raise PolicyRefusal(decision.reason, decision=decision)
    pseudonymised = render.key is not None
    return {
        "tenant": tenant_id,
        # Under pseudonymisation even the surrogate id would link sessions: it becomes a token too.
        "subject": token(render.key, "subject", subject_id) if render.key else subject_id,
        "purpose": purpose,
        "legal_basis": decision.legal_basis,
        "categories": sorted(decision.categories),
        "pseudonymised": sorted(render.pseudonymise) if pseudonymised else [],
        "session": sess.session_id if sess else None,
        **data,
    }
