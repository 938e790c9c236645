"""Rectification (GDPR Art. 16): replace a subject's name, e-mail or number; the old value is gone.

The new value is encrypted under the subject's data key and, for an e-mail or a number, blind-indexed;
the old rows are deleted, not kept as history (a wrong value kept would still be processed). An
e-mail or number another user holds is refused (exit 5). A number is the user's from now on
(``since``, the number-ownership rule of :mod:`callvault.collection.ingest.takeover`): when an external
caller held it, that caller keeps its earlier calls and voicemail under the number's prior form, as
when the directory gives a user a recycled number (Art. 5(1)(d)). Completing the request records the
notification owed to the controller (Art. 19) in its evidence.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from callvault.clock import utcnow
from callvault.collection.ingest.takeover import take_over
from callvault.errors import InvalidInput
from callvault.rights.identity import Verification, identity_refusal
from callvault.rights.requests import finish_request, request_for
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.core import subject_identifiers, subjects
from callvault.subjects.actors import check_actor
from callvault.subjects.directory import find_subject, identifier_rows, subject_dek, tenant_region
from callvault.subjects.identifiers import INDEXED_KINDS, index_form, prior_form
from callvault.tenants import get_tenant
from callvault.vault import Vault

FIELDS = ("name", "email", "phone")
ACTION = "subject.rectify"


def rectify(
    vault: Vault,
    tenant_id: str,
    subject: str,
    field: str,
    value: str,
    *,
    verification: Verification | None,
    actor: str = "operator",
    request_id: str | None = None,
) -> dict[str, Any]:
    """Replace the subject's ``field`` (name, email or phone) by ``value``; returns what changed
    (never a value). Unverified identity: PolicyRefusal, audited."""
    check_actor(actor)
    if field not in FIELDS:
        raise InvalidInput(f"must be one of {', '.join(FIELDS)}", pointer="field")
    if not value.strip():
        raise InvalidInput("must not be empty", pointer="value")
    with vault.transaction() as conn:
        get_tenant(conn, tenant_id)
        subject_id = find_subject(vault, conn, tenant_id, subject)
        refusal = identity_refusal(vault, conn, tenant_id, subject_id, verification,
                                   action=ACTION, actor=actor)  # fmt: skip
        if refusal is None:
            rid = request_for(vault, conn, tenant_id, subject_id, "rectification", actor=actor,
                              verification=verification, request_id=request_id)  # fmt: skip
            replaced = _replace(vault, conn, tenant_id, subject_id, field, value.strip())
            evidence = {"field": field, "replaced": replaced,
                        "art19": {"recipient": "controller", "tenant": tenant_id,
                                  "recorded_at": utcnow().isoformat(), "delivered": False}}  # fmt: skip
            finish_request(vault, conn, tenant_id, rid, "completed", actor=actor,
                           outcome=f"{field} rectified", evidence=evidence)  # fmt: skip
            vault.audit(conn, tenant_id, AuditEntry(actor=actor, action=ACTION,
                                                    subject_id=subject_id,
                                                    details={"field": field, "request_id": rid,
                                                             "replaced": replaced}))  # fmt: skip
    if refusal is not None:
        raise refusal
    return {"tenant": tenant_id, "subject": subject_id, "field": field, "request": rid,
            "replaced": replaced}  # fmt: skip


def _replace(
    vault: Vault, conn: Connection, tenant_id: str, subject_id: str, field: str, value: str
) -> int:
    """Delete the field's rows and write the new value; returns how many old values went."""
    region = tenant_region(vault, conn, tenant_id)
    now = utcnow()
    if field in INDEXED_KINDS:
        _claim(vault, conn, tenant_id, subject_id, field, index_form(field, value, region), now)
    i = subject_identifiers.c
    removed = conn.execute(delete(subject_identifiers).where(
        i.tenant_id == tenant_id, i.subject_id == subject_id, i.kind == field)).rowcount  # fmt: skip
    dek = subject_dek(vault, conn, tenant_id, subject_id)
    since = {field: now} if field == "phone" else None
    rows = identifier_rows(vault, conn, tenant_id, subject_id, dek, {field: [value]}, region,
                           since=since)  # fmt: skip
    conn.execute(insert(subject_identifiers), rows)
    conn.execute(update(subjects).where(subjects.c.tenant_id == tenant_id,
                                        subjects.c.subject_id == subject_id).values(updated_at=now))  # fmt: skip
    return int(removed or 0)


def _claim(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    subject_id: str,
    field: str,
    form: str,
    now: datetime,
) -> None:
    """Make the new value free for the subject: refused when another user holds it; an external
    caller holding a number keeps its earlier records under the number's prior form."""
    index = vault.keyring.index(conn, tenant_id, form)
    i, s = subject_identifiers.c, subjects.c
    holder = conn.execute(
        select(i.subject_id, s.kind)
        .join(subjects, (s.tenant_id == i.tenant_id) & (s.subject_id == i.subject_id))
        .where(i.tenant_id == tenant_id, i.blind_index == index)
    ).first()
    if holder is None or holder.subject_id == subject_id:
        return
    if holder.kind != "external" or field != "phone":
        raise InvalidInput(f"the new {field} belongs to another subject", pointer="value")
    prior = vault.keyring.index(conn, tenant_id, prior_form(form, now))
    conn.execute(update(subject_identifiers).where(i.tenant_id == tenant_id, i.blind_index == index)
                 .values(blind_index=prior))  # fmt: skip
    take_over(vault, conn, tenant_id, {holder.subject_id: (subject_id, now)})
