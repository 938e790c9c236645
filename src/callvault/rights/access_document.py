"""What an access export holds (GDPR Art. 15(1)-(3), Art. 20): ``subject.json`` and ``calls.csv``.

``subject.json`` is machine-readable: the profile, identifiers, call history, voicemail metadata,
consents with their receipts' fields and events, restrictions and objections, the subject's requests,
and per category the information Art. 15(1) lists: (a) purposes, (b) the category, (c) recipients and
sub-processors, (d) retention, (e) the rights to rectification, erasure, restriction and objection,
(f) the right to complain to the supervisory authority, (g) the source of the data, (h) automated
decision-making (none). Other people appear as reads show them (Art. 15(4)).

Messages the subject left as caller in other users' mailboxes are its personal data too (its voice,
Art. 4(1)), so they are in the export with their recordings (``voicemails_left``). Whose mailbox it
was is shown the way the call history shows the callee of that same call: a colleague's name (when
the tenant collects names), else a contact token, never a number. Hiding it would protect nothing
(the subject chose whom to call, and its call history already names that party) while leaving the
subject unable to tell its messages apart. What the owner did with the message (its folder: heard,
kept, moved) is the owner's own data and is left out: Art. 15(4), Recital 63 ("should not adversely
affect the rights or freedoms of others").
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, select

from callvault.consent.records import records_of
from callvault.policy.taxonomy import CALL_HISTORY, PHONE, VOICEMAIL
from callvault.processing.reads import Renderer, shown_parties
from callvault.retention.rules import tenant_rules
from callvault.store.schema.core import voicemails
from callvault.store.schema.requests import subject_requests
from callvault.store.schema.restrictions import subject_objections, subject_restrictions
from callvault.tenants import Tenant
from callvault.vault import Vault

EXPORT_FORMAT = "callvault-access/1"
OWN_AUDIO, LEFT_AUDIO = "voicemail", "voicemail_left"  # zip folders of the recordings
CALL_COLUMNS = [
    "started_at",
    "role",
    "direction",
    "outcome",
    "duration_s",
    "billsec_s",
    "other_party",
]  # fmt: skip (other_party last: calls_csv relies on it)
# Which retention rule governs a category; the rest is the subject's profile.
CATEGORY_KIND = {CALL_HISTORY: "call_record", VOICEMAIL: "voicemail"}
# Art. 15(1)(g): where the data came from.
SOURCES = {
    CALL_HISTORY: "call records of your company's telephone system, received from your company",
    VOICEMAIL: "your voicemail box on your company's telephone system",
}
PROFILE_SOURCE = "your company's user directory, received from your company (the controller)"
RIGHTS = {
    "rectification": "Art. 16: callvault dsr rectify",
    "erasure": "Art. 17: callvault dsr erase",
    "restriction": "Art. 18: callvault dsr restrict",
    "objection": "Art. 21: callvault dsr object (processing based on legitimate interest)",
}


def categories_info(
    vault: Vault, tenant: Tenant, collected: frozenset[str]
) -> list[dict[str, Any]]:
    """Art. 15(1)(a)-(h), per category the tenant collects."""
    rules = tenant_rules(vault, tenant)
    spec = vault.policy.policy
    subs = [sub.model_dump() for sub in spec.sub_processors]
    out: list[dict[str, Any]] = []
    for category in sorted(collected):
        rule = rules[CATEGORY_KIND.get(category, "subject_profile")]
        purposes = [
            {"purpose": name, "text": spec.purposes[name].text, "legal_basis": p.legal_basis,
             "output": p.output}
            for name, p in sorted(vault.policy.purposes.items()) if category in p.categories
        ]  # fmt: skip
        item: dict[str, Any] = {
            "category": category,
            "purposes": purposes,
            "recipients": sorted(vault.policy.recipients),
            "sub_processors": subs,
            "retention": {"kind": rule.kind, **rule.as_dict()},
            "rights": RIGHTS,
            "complaint": spec.operator.supervisory_authority,
            "source": SOURCES.get(category, PROFILE_SOURCE),
            "automated_decision_making": "none",
        }
        out.append(item)
    return out


def held_records(conn: Connection, tenant_id: str, subject_id: str) -> dict[str, Any]:
    """Consents (with events), restrictions, objections and requests."""
    r, o, q = subject_restrictions.c, subject_objections.c, subject_requests.c
    restrictions = conn.execute(select(r.restricted_at, r.lifted_at).where(
        r.tenant_id == tenant_id, r.subject_id == subject_id).order_by(r.restricted_at)).all()  # fmt: skip
    objections = conn.execute(select(o.purpose, o.objected_at, o.withdrawn_at).where(
        o.tenant_id == tenant_id, o.subject_id == subject_id).order_by(o.objected_at)).all()  # fmt: skip
    requests = conn.execute(select(q.request_id, q.type, q.received_at, q.due_at, q.state).where(
        q.tenant_id == tenant_id, q.subject_id == subject_id).order_by(q.received_at)).all()  # fmt: skip
    return {
        "consents": [rec.as_dict() for rec in records_of(conn, tenant_id, subject_id)],
        "restrictions": [_row(x) for x in restrictions],
        "objections": [_row(x) for x in objections],
        "requests": [_row(x) for x in requests],
    }


def voicemails_left(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    subject_id: str,
    allowed: frozenset[str],
    render: Renderer,
    oldest: datetime,
) -> list[dict[str, Any]]:
    """The messages the subject left in other users' mailboxes, none past the voicemail period
    (Art. 5(1)(e)); the mailbox owner as reads show other parties, its folder left out."""
    if VOICEMAIL not in allowed:
        return []
    v = voicemails.c
    rows = sorted(conn.execute(
        select(v.received_at, v.voicemail_id, v.duration_s, v.audio_format, v.mailbox_subject_id)
        .where(v.tenant_id == tenant_id, v.caller_subject_id == subject_id,
               v.mailbox_subject_id != subject_id, v.received_at >= oldest)))  # fmt: skip
    owners = {row[4] for row in rows}
    shown = (
        shown_parties(vault, conn, tenant_id, owners, allowed, render) if PHONE in allowed else {}
    )
    out = []
    for received, vid, duration, audio_format, owner in rows:
        entry: dict[str, Any] = {"voicemail_id": vid, "received_at": received.isoformat(),
                                 "duration_s": duration, "audio": f"{LEFT_AUDIO}/{vid}.{audio_format}"}  # fmt: skip
        if PHONE in allowed:
            entry["mailbox"] = shown.get(owner)
        out.append(entry)
    return out


def _row(row: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row._mapping.items()}


def calls_csv(history: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CALL_COLUMNS)
    shown = itemgetter(*CALL_COLUMNS[:-1])  # other_party is absent when numbers are not collected
    writer.writerows((*shown(call), call.get("other_party")) for call in history)
    return buffer.getvalue().encode("utf-8")
