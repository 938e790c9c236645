"""Consent records shaped after ISO/IEC TS 27560: given only by an explicit act, withdrawable, kept.

GDPR Art. 4(11) and Art. 7: consent is a specific, informed and unambiguous indication by a clear
affirmative act; using a service is not one (EDPB Guidelines 05/2020, 3.4). So a record exists only
when :func:`give_consent` (the CLI, the API, the privacy centre) is called: nothing else in callvault
creates one. Withdrawal (Art. 7(3)) is one call and takes effect at the next decision, because
:func:`consent_state` reads the newest record each time; the event history stays.

A record is bound to the purpose's fingerprint (its text, categories and basis): when a new policy
version changes the purpose, consent given before no longer covers it (Art. 7(1), Art. 13(3)) and the
subject must be asked again.

The processing gate calls :func:`consent_state`; it is one indexed SELECT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from .audit import AuditEntry
from .clock import utcnow
from .errors import InvalidInput, NotFound, PolicyRefusal
from .policy import CompiledPurpose
from .store.schema import subjects
from .store.schema_consent import consent_events, consent_records
from .subjects import find_subject, new_id
from .tenants import get_tenant
from .vault import Vault

STATES = ("given", "withdrawn", "expired", "refused")
METHODS = ("cli", "api", "privacy_centre")
SUBJECT_ACTORS = ("subject", "user")


@dataclass(frozen=True)
class ConsentState:
    valid: bool
    reason: str
    record_id: str | None


@dataclass(frozen=True)
class ConsentEvent:
    event: str
    at: datetime
    actor: str
    method: str
    policy_version: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "method": self.method,
            "policy_version": self.policy_version,
        }


@dataclass(frozen=True)
class ConsentRecord:
    record_id: str
    tenant_id: str
    subject_id: str
    purpose: str
    policy_version: str
    notice_hash: str
    purpose_fingerprint: str
    method: str
    actor: str
    state: str
    created_at: datetime
    state_at: datetime
    expires_at: datetime | None
    events: tuple[ConsentEvent, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "tenant": self.tenant_id,
            "subject_id": self.subject_id,
            "purpose": self.purpose,
            "policy_version": self.policy_version,
            "notice_hash": self.notice_hash,
            "purpose_fingerprint": self.purpose_fingerprint,
            "method": self.method,
            "actor": self.actor,
            "state": self.state,
            "created_at": self.created_at.isoformat(),
            "state_at": self.state_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "events": [e.as_dict() for e in self.events],
        }


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


_STATE_COLUMNS = (
    consent_records.c.record_id,
    consent_records.c.state,
    consent_records.c.state_at,
    consent_records.c.expires_at,
    consent_records.c.purpose_fingerprint,
    consent_records.c.created_at,
)


def consent_state(
    conn: Connection,
    tenant_id: str,
    subject_id: str,
    purpose: CompiledPurpose,
    policy_version: str,
    at: datetime,
) -> ConsentState:
    """Does ``subject_id`` hold valid consent for ``purpose`` at ``at``? One indexed SELECT.

    Only the newest record made at or before ``at`` counts: a later withdrawal or refusal overrides an
    earlier consent, and a later consent overrides an earlier withdrawal.
    """
    row = conn.execute(
        select(*_STATE_COLUMNS)
        .where(
            consent_records.c.tenant_id == tenant_id,
            consent_records.c.subject_id == subject_id,
            consent_records.c.purpose == purpose.name,
            consent_records.c.created_at <= at,
        )
        .order_by(consent_records.c.created_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return ConsentState(False, f"no consent for {purpose.name}", None)
    return _judge(row, purpose, policy_version, at)


def _judge(row: Any, purpose: CompiledPurpose, policy_version: str, at: datetime) -> ConsentState:
    if row.state in ("withdrawn", "refused") and row.state_at <= at:
        return ConsentState(False, f"consent {row.state} on {_day(row.state_at)}", row.record_id)
    if row.state == "expired" or (row.expires_at is not None and row.expires_at <= at):
        ended = row.expires_at or row.state_at
        return ConsentState(False, f"consent expired on {_day(ended)}", row.record_id)
    if row.purpose_fingerprint != purpose.fingerprint:
        # Art. 7(1)/13(3): the purpose changed since the subject agreed to it.
        return ConsentState(
            False, f"consent predates policy version {policy_version}", row.record_id
        )
    return ConsentState(True, f"consent given on {_day(row.created_at)}", row.record_id)


# -- acts ------------------------------------------------------------------------------------------


def _purpose(vault: Vault, name: str) -> CompiledPurpose:
    purpose = vault.policy.purposes.get(name)
    if purpose is None:
        raise InvalidInput(
            f"no purpose {name!r} in policy version {vault.policy.version} "
            f"(purposes: {', '.join(sorted(vault.policy.purposes))})",
            pointer="purpose",
        )
    if purpose.legal_basis != "consent":
        # Asking for consent where another basis applies misleads the subject (EDPB 05/2020, 121).
        raise PolicyRefusal(
            f"purpose {name} rests on {purpose.legal_basis}, not consent: "
            "consent is neither asked for nor recorded for it"
        )
    return purpose


def _subject(vault: Vault, conn: Connection, tenant_id: str, text: str) -> tuple[str, str]:
    get_tenant(conn, tenant_id)
    subject_id = find_subject(vault, conn, tenant_id, text)
    kind = conn.scalar(
        select(subjects.c.kind).where(
            subjects.c.tenant_id == tenant_id, subjects.c.subject_id == subject_id
        )
    )
    return subject_id, str(kind)


def _actor(
    vault: Vault, conn: Connection, tenant_id: str, subject_id: str, kind: str, actor: str, act: str
) -> str:
    """Consent is personal (Art. 4(11)): nobody consents for another person.

    A subject acting for another subject is refused; an external caller's consent is refused unless the
    caller gives it. Returns the actor as audited (subject actors by surrogate id, never an e-mail).
    """
    role, _, who = actor.partition(":")
    if role in SUBJECT_ACTORS:
        try:
            acting = find_subject(vault, conn, tenant_id, who)
        except NotFound as exc:
            raise PolicyRefusal(f"actor {role}:… is not a subject of tenant {tenant_id}") from exc
        if acting != subject_id:
            raise PolicyRefusal(
                f"a subject cannot {act} consent on behalf of another subject (Art. 4(11), Art. 7)"
            )
        return f"subject:{acting}"
    if kind == "external" and act == "give":
        raise PolicyRefusal(
            "an external caller's consent can only be given by the caller (Art. 4(11), Art. 7); "
            f"{role or actor} cannot give it"
        )
    if not actor.strip():
        raise InvalidInput("an actor is required", pointer="actor")
    return actor


def _notice_hash(vault: Vault, conn: Connection, tenant_id: str) -> str:
    from .notice import notice_hash  # the notice imports the tenant model; keep this module light

    return notice_hash(vault, get_tenant(conn, tenant_id))


def _latest(conn: Connection, tenant_id: str, subject_id: str, purpose: str) -> Any:
    return conn.execute(
        select(consent_records)
        .where(
            consent_records.c.tenant_id == tenant_id,
            consent_records.c.subject_id == subject_id,
            consent_records.c.purpose == purpose,
        )
        .order_by(consent_records.c.created_at.desc())
        .limit(1)
    ).first()


def _add_event(
    conn: Connection, tenant_id: str, record_id: str, event: str, at: datetime, actor: str,
    method: str, version: str,
) -> None:  # fmt: skip
    seq = conn.scalar(
        select(func.coalesce(func.max(consent_events.c.seq), 0)).where(
            consent_events.c.tenant_id == tenant_id, consent_events.c.record_id == record_id
        )
    )
    conn.execute(
        insert(consent_events),
        [
            {
                "tenant_id": tenant_id,
                "record_id": record_id,
                "seq": int(seq or 0) + 1,
                "event": event,
                "at": at,
                "actor": actor,
                "method": method,
                "policy_version": version,
            }
        ],
    )


def _new_record(
    vault: Vault, conn: Connection, tenant_id: str, subject_id: str, purpose: CompiledPurpose,
    state: str, actor: str, method: str, at: datetime,
) -> str:  # fmt: skip
    record_id = new_id()
    valid_for = vault.policy.policy.consent.valid_for
    conn.execute(
        insert(consent_records),
        [
            {
                "tenant_id": tenant_id,
                "record_id": record_id,
                "subject_id": subject_id,
                "purpose": purpose.name,
                "policy_version": vault.policy.version,
                "notice_hash": _notice_hash(vault, conn, tenant_id),
                "purpose_fingerprint": purpose.fingerprint,
                "method": method,
                "actor": actor,
                "state": state,
                "created_at": at,
                "state_at": at,
                "expires_at": valid_for.after(at) if valid_for and state == "given" else None,
            }
        ],
    )
    _add_event(conn, tenant_id, record_id, state, at, actor, method, vault.policy.version)
    return record_id


def _audit(
    vault: Vault, conn: Connection, tenant_id: str, subject_id: str, purpose: CompiledPurpose,
    action: str, actor: str, record_id: str, **details: Any,
) -> None:  # fmt: skip
    vault.audit(
        conn,
        tenant_id,
        AuditEntry(
            actor=actor,
            action=action,
            purpose=purpose.name,
            legal_basis="consent",
            subject_id=subject_id,
            categories=sorted(purpose.categories),
            details={"record": record_id, "policy_version": vault.policy.version, **details},
        ),
    )


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)}", pointer="method")
    return method


def give_consent(
    vault: Vault,
    tenant_id: str,
    subject: str,
    purpose: str,
    *,
    actor: str,
    method: str = "cli",
    at: datetime | None = None,
) -> ConsentRecord:
    """Record the subject's explicit consent to ``purpose`` under the policy in force (Art. 7(1))."""
    compiled, at = _purpose(vault, purpose), at or utcnow()
    _check_method(method)
    with vault.transaction() as conn:
        subject_id, kind = _subject(vault, conn, tenant_id, subject)
        actor = _actor(vault, conn, tenant_id, subject_id, kind, actor, "give")
        current = consent_state(conn, tenant_id, subject_id, compiled, vault.policy.version, at)
        if current.valid and current.record_id:  # already given for this very purpose text
            record_id, unchanged = current.record_id, True
        else:
            record_id, unchanged = (
                _new_record(
                    vault, conn, tenant_id, subject_id, compiled, "given", actor, method, at
                ),
                False,
            )
        _audit(vault, conn, tenant_id, subject_id, compiled, "consent.give", actor, record_id,
               method=method, unchanged=unchanged)  # fmt: skip
        return _load(conn, tenant_id, record_id)


def withdraw_consent(
    vault: Vault,
    tenant_id: str,
    subject: str,
    purpose: str,
    *,
    actor: str,
    method: str = "cli",
    at: datetime | None = None,
) -> ConsentRecord:
    """Withdraw consent (Art. 7(3)): effective at the next decision; the record and history stay."""
    compiled, at = _purpose(vault, purpose), at or utcnow()
    _check_method(method)
    with vault.transaction() as conn:
        subject_id, kind = _subject(vault, conn, tenant_id, subject)
        actor = _actor(vault, conn, tenant_id, subject_id, kind, actor, "withdraw")
        row = _latest(conn, tenant_id, subject_id, purpose)
        if row is None or row.state == "refused":
            raise NotFound(f"no consent for {purpose} to withdraw")
        if row.state == "given":
            conn.execute(
                update(consent_records)
                .where(
                    consent_records.c.tenant_id == tenant_id,
                    consent_records.c.record_id == row.record_id,
                )
                .values(state="withdrawn", state_at=at)
            )
            _add_event(conn, tenant_id, row.record_id, "withdrawn", at, actor, method,
                       vault.policy.version)  # fmt: skip
        _audit(vault, conn, tenant_id, subject_id, compiled, "consent.withdraw", actor,
               row.record_id, method=method, unchanged=row.state != "given")  # fmt: skip
        return _load(conn, tenant_id, row.record_id)


def refuse_consent(
    vault: Vault,
    tenant_id: str,
    subject: str,
    purpose: str,
    *,
    actor: str,
    method: str = "cli",
    at: datetime | None = None,
) -> ConsentRecord:
    """Record that the subject said no when asked: as much an explicit act as saying yes."""
    compiled, at = _purpose(vault, purpose), at or utcnow()
    _check_method(method)
    with vault.transaction() as conn:
        subject_id, kind = _subject(vault, conn, tenant_id, subject)
        actor = _actor(vault, conn, tenant_id, subject_id, kind, actor, "refuse")
        record_id = _new_record(
            vault, conn, tenant_id, subject_id, compiled, "refused", actor, method, at
        )
        _audit(vault, conn, tenant_id, subject_id, compiled, "consent.refuse", actor, record_id,
               method=method)  # fmt: skip
        return _load(conn, tenant_id, record_id)


# -- reading ---------------------------------------------------------------------------------------


def _events(conn: Connection, tenant_id: str, record_ids: list[str]) -> dict[str, list[Any]]:
    rows = conn.execute(
        select(consent_events)
        .where(consent_events.c.tenant_id == tenant_id, consent_events.c.record_id.in_(record_ids))
        .order_by(consent_events.c.record_id, consent_events.c.seq)
    ).all()
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.record_id, []).append(
            ConsentEvent(row.event, row.at, row.actor, row.method, row.policy_version)
        )
    return grouped


def _records(conn: Connection, tenant_id: str, rows: list[Any]) -> list[ConsentRecord]:
    events = _events(conn, tenant_id, [r.record_id for r in rows]) if rows else {}
    return [
        ConsentRecord(
            record_id=r.record_id,
            tenant_id=r.tenant_id,
            subject_id=r.subject_id,
            purpose=r.purpose,
            policy_version=r.policy_version,
            notice_hash=r.notice_hash,
            purpose_fingerprint=r.purpose_fingerprint,
            method=r.method,
            actor=r.actor,
            state=r.state,
            created_at=r.created_at,
            state_at=r.state_at,
            expires_at=r.expires_at,
            events=tuple(events.get(r.record_id, ())),
        )
        for r in rows
    ]


def _load(conn: Connection, tenant_id: str, record_id: str) -> ConsentRecord:
    row = conn.execute(
        select(consent_records).where(
            consent_records.c.tenant_id == tenant_id, consent_records.c.record_id == record_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no consent record {record_id} in tenant {tenant_id}")
    return _records(conn, tenant_id, [row])[0]


def consent_records_of(vault: Vault, tenant_id: str, subject: str) -> list[ConsentRecord]:
    """Every consent record of one subject, newest first, with its history."""
    with vault.engine.connect() as conn:
        subject_id, _ = _subject(vault, conn, tenant_id, subject)
        rows = conn.execute(
            select(consent_records)
            .where(
                consent_records.c.tenant_id == tenant_id,
                consent_records.c.subject_id == subject_id,
            )
            .order_by(consent_records.c.created_at.desc(), consent_records.c.purpose)
        ).all()
        return _records(conn, tenant_id, list(rows))


def consent_record(vault: Vault, tenant_id: str, record_id: str) -> ConsentRecord:
    with vault.engine.connect() as conn:
        get_tenant(conn, tenant_id)
        return _load(conn, tenant_id, record_id)


def subject_consents(vault: Vault, tenant_id: str, subject: str) -> dict[str, Any]:
    """What `consent show` prints: per consent purpose the state now, plus every record."""
    records = consent_records_of(vault, tenant_id, subject)
    now = utcnow()
    with vault.engine.connect() as conn:
        subject_id, _ = _subject(vault, conn, tenant_id, subject)
        states = {
            name: consent_state(conn, tenant_id, subject_id, purpose, vault.policy.version, now)
            for name, purpose in sorted(vault.policy.purposes.items())
            if purpose.legal_basis == "consent"
        }
    return {
        "tenant": tenant_id,
        "subject_id": subject_id,
        "policy_version": vault.policy.version,
        "purposes": {
            name: {"valid": s.valid, "reason": s.reason, "record_id": s.record_id}
            for name, s in states.items()
        },
        "records": [r.as_dict() for r in records],
    }


def consent_receipt(vault: Vault, tenant_id: str, record_id: str) -> dict[str, Any]:
    """A JSON consent receipt for one record (ISO/IEC TS 27560 fields; Kantara receipt lineage)."""
    record = consent_record(vault, tenant_id, record_id)
    with vault.engine.connect() as conn:
        tenant = get_tenant(conn, tenant_id)
    spec = vault.policy.policy.purposes.get(record.purpose)
    current = vault.policy.purposes.get(record.purpose)
    return {
        "receipt_version": "callvault-consent-receipt/1 (ISO/IEC TS 27560)",
        **record.as_dict(),
        "controller": {"tenant": tenant.id, "name": tenant.name},
        "processor": {"name": vault.policy.policy.operator.name, "role": "processor (Art. 28)"},
        "purpose_text": spec.text if spec else None,
        "purpose_dpv": spec.dpv if spec else None,
        "legal_basis": "consent (GDPR Art. 6(1)(a))",
        "categories": sorted(current.categories) if current else [],
        "matches_policy_in_force": bool(
            current and current.fingerprint == record.purpose_fingerprint
        ),
        "withdraw": (
            f"callvault consent withdraw --tenant {tenant_id} --subject {record.subject_id} "
            f"--purpose {record.purpose}, or the privacy centre; as easy as giving it (Art. 7(3))"
        ),
    }
