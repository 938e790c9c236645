"""Consent that ran out: mark it ``expired`` and write the event, so the history says so.

A policy may give consent a lifetime (``consent.valid_for``); :func:`callvault.consent.acts.consent_state`
already treats a record past its ``expires_at`` as invalid at the next decision. This job makes the
state and the event history match (ISO/IEC TS 27560 "expired"), set-based, one audit entry per tenant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, tuple_, update

from callvault.clock import utcnow
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.consent import consent_events, consent_records
from callvault.subjects.actors import check_actor
from callvault.vault import Vault

_BATCH = 5_000


def expire_consents(
    vault: Vault, at: datetime | None = None, *, actor: str = "operator"
) -> dict[str, int]:
    """Mark every given consent whose lifetime ended by ``at`` as expired; counts per tenant."""
    check_actor(actor)
    at = at or utcnow()
    counts: Counter[str] = Counter()
    while True:  # bounded batches: each commits with its audit entries, memory stays flat
        with vault.transaction() as conn:
            due = conn.execute(
                select(
                    consent_records.c.tenant_id,
                    consent_records.c.record_id,
                    consent_records.c.expires_at,
                    consent_records.c.policy_version,
                )
                .where(consent_records.c.state == "given", consent_records.c.expires_at <= at)
                .limit(_BATCH)
            ).all()
            if not due:
                break
            _expire(conn, due, actor)
            batch = Counter(r.tenant_id for r in due)
            for tenant_id, count in sorted(batch.items()):
                vault.audit(
                    conn,
                    tenant_id,
                    AuditEntry(
                        actor=actor,
                        action="consent.expire",
                        legal_basis="consent",
                        details={"records": count, "as_of": at.isoformat()},
                    ),
                )
        counts.update(batch)
    return dict(counts)


def _expire(conn: Connection, chunk: Sequence[Any], actor: str) -> None:
    """Mark ``chunk`` expired and append an "expired" event to each record's history."""
    seqs = {
        (row.tenant_id, row.record_id): row.seq
        for row in conn.execute(
            select(
                consent_events.c.tenant_id,
                consent_events.c.record_id,
                func.max(consent_events.c.seq).label("seq"),
            )
            .where(
                tuple_(consent_events.c.tenant_id, consent_events.c.record_id).in_(
                    [(r.tenant_id, r.record_id) for r in chunk]
                )
            )
            .group_by(consent_events.c.tenant_id, consent_events.c.record_id)
        )
    }
    conn.execute(
        update(consent_records)
        .where(
            consent_records.c.tenant_id == bindparam("t"),
            consent_records.c.record_id == bindparam("r"),
        )
        .values(state="expired", state_at=bindparam("at")),
        [{"t": r.tenant_id, "r": r.record_id, "at": r.expires_at} for r in chunk],
    )
    conn.execute(
        insert(consent_events),
        [
            {
                "tenant_id": r.tenant_id,
                "record_id": r.record_id,
                "seq": int(seqs.get((r.tenant_id, r.record_id)) or 0) + 1,
                "event": "expired",
                "at": r.expires_at,
                "actor": actor,
                "method": "cli",
                "policy_version": r.policy_version,
            }
            for r in chunk
        ],
    )
