"""Erasure (GDPR Art. 17): crypto-shred the subject and delete its rows, set-based, holds kept.

What goes: the subject's data key and its identifiers with their blind indexes, its profile, its
voicemail box and the messages it left as caller, its consents with their events, its restrictions and
objections, its support-session scope. Calls it shares with another of the tenant's users stay in
that user's history with this party removed; calls no other user holds become what retention keeps
(statistics cells and the billing subset, :mod:`callvault.retention.anonymise`); external callers left
with nothing are shredded. What a legal obligation holds (the billing subset, Art. 17(3)(b)) is kept
and named in the outcome. Every step is one statement over a set, whatever the number of rows.

Order: the tombstone (keyed hashes of the subject's blind indexes) is committed to the key store
first; then the data rows go in one transaction with the request's completion and the audit entry.
Should that transaction fail, ``dsr reapply-erasures`` finishes it from the tombstone, as it does
after a backup of the data database is restored (:mod:`callvault.rights.tombstones`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, func, or_, select, update

from callvault.clock import utcnow
from callvault.errors import InvalidInput
from callvault.retention import anonymise as A
from callvault.retention import batches as B
from callvault.retention.rules import tenant_rules
from callvault.rights.identity import Verification, identity_refusal
from callvault.rights.requests import finish_request, request_for
from callvault.rights.tombstones import subject_markers
from callvault.store.audit_chain import AuditEntry
from callvault.store.cells import floor
from callvault.store.schema.core import calls, subject_identifiers, subjects, voicemails
from callvault.store.schema.retention import billing_records
from callvault.store.schema.support import support_session_subjects
from callvault.subjects.actors import check_actor
from callvault.subjects.directory import find_subject, shred_subjects
from callvault.tenants import get_tenant
from callvault.vault import Vault

ACTION = "subject.erase"


@dataclass(frozen=True)
class Erasure:
    """What an erasure did: counts per kind of record, and what a legal obligation keeps."""

    request_id: str
    subject_id: str
    counts: dict[str, int]
    legal_hold: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"request": self.request_id, "subject": self.subject_id, "erased": self.counts,
                "legal_hold": self.legal_hold, "evidence": self.evidence}  # fmt: skip


def erase(
    vault: Vault,
    tenant_id: str,
    subject: str,
    *,
    verification: Verification | None,
    actor: str = "operator",
    channel: str = "cli",
    request_id: str | None = None,
) -> Erasure:
    """Erase ``subject`` (id, e-mail or number) of the tenant. ``verification`` must hold for the
    subject (an unverified or mismatched one is refused, audited, exit 3); ``request_id`` answers a
    request recorded before (else one is recorded now)."""
    check_actor(actor)
    with vault.transaction() as conn:
        get_tenant(conn, tenant_id)
        subject_id = find_subject(vault, conn, tenant_id, subject)
        refusal = identity_refusal(vault, conn, tenant_id, subject_id, verification,
                                   action=ACTION, actor=actor, carried_out=True)  # fmt: skip
        if refusal is None:
            rid = request_for(vault, conn, tenant_id, subject_id, "erasure", actor=actor,
                              channel=channel, verification=verification,
                              request_id=request_id)  # fmt: skip
            markers = subject_markers(vault, conn, tenant_id, subject_id)
    if refusal is not None:
        raise refusal
    vault.keyring.keystore.add_tombstones(tenant_id, rid, markers)
    with vault.transaction() as conn, B.roomy_cache(conn):
        done = erase_rows(vault, conn, tenant_id, subject_id, rid, actor=actor)
    flush_pages(vault)
    return done


def flush_pages(vault: Vault) -> None:
    """On SQLite, empty the write-ahead log: its frames still hold the pages as they were before the
    erasure (``secure_delete`` overwrites the database file's own pages)."""
    if vault.engine.dialect.name == "sqlite":  # a checkpoint runs outside any transaction
        with vault.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def erase_rows(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    subject_id: str,
    request_id: str,
    *,
    actor: str,
    complete: bool = True,
) -> Erasure:
    """The erasure itself, in the caller's transaction, with the request's completion and audit.
    With ``complete`` false the request's state is left as it is (a closed request, re-erased from
    its tombstone after a restore: :mod:`callvault.rights.restore`)."""
    counts = _erase(vault, conn, tenant_id, subject_id)
    hold = legal_hold(vault, conn, tenant_id, subject_id)
    now = utcnow()
    evidence = {
        "erased": counts,
        "legal_hold": hold,
        # Art. 19: the controller is told of the erasure; the service delivers it.
        "art19": {"recipient": "controller", "tenant": tenant_id, "recorded_at": now.isoformat(),
                  "delivered": False},
    }  # fmt: skip
    kept = "; ".join(f"{h['kept']} {h['kind']} kept under {h['law']}" for h in hold if h["kept"])
    outcome = "erased" + (f" ({kept}, GDPR Art. 17(3)(b))" if kept else "")
    if complete:
        finish_request(vault, conn, tenant_id, request_id, "completed", actor=actor,
                       outcome=outcome, evidence=evidence)  # fmt: skip
    vault.audit(conn, tenant_id, AuditEntry(actor=actor, action=ACTION, subject_id=subject_id,
                                            details={"request_id": request_id, **counts}))  # fmt: skip
    return Erasure(request_id, subject_id, counts, hold, evidence)


def _party(subject_id: str) -> ColumnElement[bool]:
    return or_(calls.c.caller_subject_id == subject_id, calls.c.callee_subject_id == subject_id)


def _shared(tenant_id: str, subject_id: str) -> ColumnElement[bool]:
    """Calls of the subject whose other party is another of the tenant's users."""
    users = select(subjects.c.subject_id).where(
        subjects.c.tenant_id == tenant_id, subjects.c.kind == "user",
        subjects.c.subject_id != subject_id,
    )  # fmt: skip
    c = calls.c
    return or_(
        and_(c.caller_subject_id == subject_id, c.callee_subject_id.is_not(None),
             c.callee_subject_id.in_(users)),
        and_(c.callee_subject_id == subject_id, c.caller_subject_id.is_not(None),
             c.caller_subject_id.in_(users)),
    )  # fmt: skip


def _erase(vault: Vault, conn: Connection, tenant_id: str, subject_id: str) -> dict[str, int]:
    rules = tenant_rules(vault, get_tenant(conn, tenant_id))
    billing_from = floor(rules["billing_record"].cutoff(utcnow()), "day")
    mine = and_(calls.c.tenant_id == tenant_id, _party(subject_id))
    alone = and_(mine, ~_shared(tenant_id, subject_id))
    candidates = B.external_parties(conn, tenant_id, alone)
    candidates += B.mailbox_callers(conn, tenant_id, [subject_id])
    A.aggregate_calls(conn, alone)
    counts = {"billing_copied": A.copy_billing(conn, alone, billing_from, utcnow())}
    counts["calls_anonymised"] = B.delete_calls(conn, alone)
    counts["calls_unlinked"] = 0
    for column in ("caller_subject_id", "callee_subject_id"):
        unlink = update(calls).where(calls.c.tenant_id == tenant_id, calls.c[column] == subject_id)
        counts["calls_unlinked"] += conn.execute(unlink.values({column: None})).rowcount or 0
    v = voicemails.c
    # Its messages, as owner or as caller; their message keys are destroyed after the commit.
    counts["voicemails_deleted"] = B.delete_voicemails(conn, and_(
        v.tenant_id == tenant_id,
        or_(v.mailbox_subject_id == subject_id, v.caller_subject_id == subject_id),
    ))  # fmt: skip
    counts["consents_restrictions_objections"] = B.delete_subject_records(
        conn, tenant_id, [subject_id]
    )
    s = support_session_subjects.c
    counts["support_scopes"] = conn.execute(delete(support_session_subjects).where(
        s.tenant_id == tenant_id, s.subject_id == subject_id)).rowcount or 0  # fmt: skip
    i = subject_identifiers.c
    counts["identifiers"] = int(conn.scalar(select(func.count()).where(
        i.tenant_id == tenant_id, i.subject_id == subject_id)) or 0)  # fmt: skip
    counts["profiles"] = shred_subjects(vault, conn, tenant_id, [subject_id])
    others = [sid for sid in candidates if sid != subject_id]
    counts["externals_shredded"] = B.shred_orphans(vault, conn, tenant_id, others)
    return counts


def legal_hold(vault: Vault, conn: Connection, tenant_id: str, subject_id: str) -> list[dict[str, Any]]:  # fmt: skip
    """What a legal obligation keeps of the subject (the billing subset), named with its law.

    The records stay (Art. 17(3)(b)); their link to the erased person does not, as when retention
    ends an offboarded user's profile: the Act needs the day and the billed seconds, not who."""
    rule = tenant_rules(vault, get_tenant(conn, tenant_id))["billing_record"]
    if rule.legal_obligation is None:
        raise InvalidInput("the policy keeps billing records without a legal obligation")
    b = billing_records.c
    held = and_(b.tenant_id == tenant_id, b.payer_subject_id == subject_id)
    kept = conn.execute(update(billing_records).where(held).values(payer_subject_id=None))
    return [{"kind": "billing_record", "law": rule.legal_obligation, "kept": kept.rowcount or 0,
             "fields": ["call_date", "billsec_s"], "for": str(rule.period)}]  # fmt: skip
