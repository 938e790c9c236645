"""Consent records as read back: the record, its event history, and the receipt handed to the subject.

The shape follows ISO/IEC TS 27560 (consent record information structure): record id, subject (by
surrogate id), purpose, policy version and notice hash, method, time, state and the history of events
(given, withdrawn, expired, refused). Writing them is :mod:`callvault.consent.acts`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from callvault.errors import NotFound
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.consent import consent_events, consent_records
from callvault.subjects.actors import check_actor
from callvault.tenants import get_tenant
from callvault.vault import Vault


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
    fields = [c.name for c in consent_records.columns if c.name != "tenant_id"]
    return [
        ConsentRecord(
            tenant_id=r.tenant_id,
            events=tuple(events.get(r.record_id, ())),
            **{name: getattr(r, name) for name in fields},
        )
        for r in rows
    ]


def load_record(conn: Connection, tenant_id: str, record_id: str) -> ConsentRecord:
    row = conn.execute(
        select(consent_records).where(
            consent_records.c.tenant_id == tenant_id, consent_records.c.record_id == record_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no consent record {record_id} in tenant {tenant_id}")
    return _records(conn, tenant_id, [row])[0]


def records_of(conn: Connection, tenant_id: str, subject_id: str) -> list[ConsentRecord]:
    """Every consent record of one subject, newest first, with its history."""
    rows = conn.execute(
        select(consent_records)
        .where(
            consent_records.c.tenant_id == tenant_id,
            consent_records.c.subject_id == subject_id,
        )
        .order_by(consent_records.c.created_at.desc(), consent_records.c.purpose)
    ).all()
    return _records(conn, tenant_id, list(rows))


def audit_show(
    vault: Vault, conn: Connection, tenant_id: str, actor: str, subject_id: str, **details: Any
) -> None:
    """Showing consent records reads personal data (whose choices they are): audited (Art. 5(2))."""
    entry = AuditEntry(
        actor=actor, action="consent.show", subject_id=subject_id, details=details
    )  # fmt: skip
    vault.audit(conn, tenant_id, entry)


def consent_record(
    vault: Vault, tenant_id: str, record_id: str, *, actor: str = "operator"
) -> ConsentRecord:
    """One record with its history; the showing is audited in the same transaction."""
    check_actor(actor)
    with vault.transaction() as conn:
        get_tenant(conn, tenant_id)
        record = load_record(conn, tenant_id, record_id)
        audit_show(vault, conn, tenant_id, actor, record.subject_id, record=record.record_id)
    return record


def consent_receipt(
    vault: Vault, tenant_id: str, record_id: str, *, actor: str = "operator"
) -> dict[str, Any]:
    """A JSON consent receipt for one record (ISO/IEC TS 27560 fields, Kantara receipt lineage);
    audited as ``consent.show`` by ``actor``."""
    record = consent_record(vault, tenant_id, record_id, actor=actor)
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
            f"--purpose {record.purpose}, or the privacy centre: as easy as giving it (Art. 7(3))"
        ),
    }
