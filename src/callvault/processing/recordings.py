"""Voicemail recordings, read only through the processing gate (GDPR Art. 5(1)(b), 6(1), 18).

A recording is the most personal thing the vault holds (a voice, and whatever was said). It is read
like every other personal data: an actor names a purpose, the gate decides for the mailbox owner
(the purpose must use ``user.content.private.voicemail``, its legal basis must hold, e.g. the
owner's consent to personalisation, and a restriction stops it: Art. 18(2)), and the decision,
allowed or denied, is audited in the transaction that decrypts (action ``read.voicemail``). Only the
mailbox owner's voicemails are found this way; any other id is "not found" (exit 4), as is a
recording past its retention period, whether or not retention has run (Art. 5(1)(e)).

The content key is split between the owner's and the caller's data keys
(:mod:`callvault.collection.ingest.voicemail_audio`); :func:`decrypt_audio` opens it only with an
allowed decision covering voicemail in hand, so no code path decrypts a recording without one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from callvault.clock import utcnow
from callvault.collection.ingest.voicemail_audio import ROLES, content_key, share_aad
from callvault.crypto.keyring import field_aad
from callvault.crypto.primitives import open_sealed
from callvault.errors import IntegrityError, NotFound, PolicyRefusal
from callvault.policy.taxonomy import VOICEMAIL
from callvault.processing.context import load_context
from callvault.processing.gate import Decision, decide
from callvault.processing.reads import audit_decision
from callvault.retention.rules import tenant_rules
from callvault.store.schema.core import voicemails
from callvault.store.schema.voicemail_keys import voicemail_keys
from callvault.subjects.actors import check_actor, check_ref
from callvault.subjects.directory import find_subject
from callvault.tenants import Tenant, get_tenant
from callvault.vault import Vault

GONE = "no such voicemail in this subject's mailbox"
_CHUNK = 1000  # ids per IN list


def decrypt_audio(
    vault: Vault, conn: Connection, tenant_id: str, voicemail_id: str, decision: Decision
) -> bytes:
    """The recording, for an allowed decision that covers voicemail; PolicyRefusal otherwise.
    NotFound for no such voicemail (in this tenant); IntegrityError when a party's share or data
    key is gone (erased) or does not authenticate."""
    return decrypt_audios(vault, conn, tenant_id, [voicemail_id], decision)[voicemail_id]


def decrypt_audios(
    vault: Vault, conn: Connection, tenant_id: str, voicemail_ids: list[str], decision: Decision
) -> dict[str, bytes]:
    """{voicemail id: recording} of these messages, as :func:`decrypt_audio` for each, set-based:
    one query per thousand messages for the recordings and one for their shares, the parties' data
    keys and the messages' own keys fetched together (an export of a hundred messages is a few
    queries, not a few hundred)."""
    if not decision.allowed or VOICEMAIL not in decision.categories:
        raise PolicyRefusal("a voicemail recording is read only with an allowed gate decision")
    sealed: dict[str, bytes] = {}
    shares: dict[str, dict[str, Any]] = {}
    v, k = voicemails.c, voicemail_keys.c
    for start in range(0, len(voicemail_ids), _CHUNK):
        chunk = voicemail_ids[start : start + _CHUNK]
        sealed.update(tuple(row) for row in conn.execute(select(v.voicemail_id, v.audio).where(
            v.tenant_id == tenant_id, v.voicemail_id.in_(chunk))))  # fmt: skip
        for row in conn.execute(select(k.voicemail_id, k.role, k.subject_id, k.share).where(
                k.tenant_id == tenant_id, k.voicemail_id.in_(chunk))):  # fmt: skip
            shares.setdefault(row.voicemail_id, {})[row.role] = row
    if missing := set(voicemail_ids) - set(sealed):
        raise NotFound(f"no such voicemail in this tenant ({len(missing)} of the messages)")
    deks = vault.keyring.deks(
        tenant_id, {r.subject_id for h in shares.values() for r in h.values()}
    )
    messages = vault.keyring.message_keys(tenant_id, sealed)
    return {vid: _open_recording(tenant_id, vid, sealed[vid], shares.get(vid, {}), deks,
                                 messages.get(vid)) for vid in voicemail_ids}  # fmt: skip


def _open_recording(
    tenant_id: str,
    voicemail_id: str,
    sealed: bytes,
    held: dict[str, Any],
    deks: dict[str, bytes],
    message: bytes | None,
) -> bytes:
    if "owner" not in held:
        raise IntegrityError("the voicemail's key share is gone: it was erased")
    if message is None:
        raise IntegrityError("the voicemail's key is destroyed: it was deleted")
    shares = []
    for role in ROLES:
        row = held.get(role)
        if row is not None and row.subject_id in deks:
            aad = share_aad(tenant_id, row.subject_id, voicemail_id, role)
            shares.append(open_sealed(deks[row.subject_id], row.share, aad))
    key = content_key(tenant_id, voicemail_id, shares, message)
    # a missing caller share (its subject erased) yields the wrong key: IntegrityError here
    return open_sealed(key, sealed, field_aad(tenant_id, voicemail_id, "audio"))


def _check_owned(
    vault: Vault, conn: Connection, tenant: Tenant, subject_id: str, voicemail_id: str, at: datetime
) -> None:
    """NotFound unless the voicemail is in the subject's mailbox and within its retention period."""
    v = voicemails.c
    received = conn.scalar(
        select(v.received_at).where(
            v.tenant_id == tenant.id,
            v.voicemail_id == voicemail_id,
            v.mailbox_subject_id == subject_id,
        )
    )
    if received is None:
        raise NotFound(GONE)
    if received < tenant_rules(vault, tenant)["voicemail"].cutoff(at):
        raise NotFound(f"{GONE} (past its retention period)")


def read_voicemail(
    vault: Vault,
    tenant_id: str,
    subject: str,
    voicemail_id: str,
    purpose: str,
    actor: str,
    *,
    at: datetime | None = None,
) -> bytes:
    """The recording of one voicemail in the mailbox of ``subject``, if ``purpose`` may read it.

    PolicyRefusal (exit 3) with the gate's reason when not (audited either way); NotFound (exit 4)
    for a voicemail that is not the subject's, or past its retention period.
    """
    check_actor(actor)
    voicemail_id = check_ref(voicemail_id, field="voicemail")
    at = at or utcnow()
    with vault.transaction() as conn:
        tenant = get_tenant(conn, tenant_id)
        subject_id = find_subject(vault, conn, tenant_id, subject)
        _check_owned(vault, conn, tenant, subject_id, voicemail_id, at)
        ctx, _ = load_context(conn, vault.policy, tenant_id, subject_id, purpose, at)
        decision = decide(actor, tenant, subject_id, purpose, [VOICEMAIL], at, ctx=ctx)
        audit_decision(vault, conn, tenant_id, actor, "read.voicemail", subject_id, purpose,
                       decision, voicemail=voicemail_id)  # fmt: skip
        audio = (
            decrypt_audio(vault, conn, tenant_id, voicemail_id, decision)
            if decision.allowed
            else b""
        )
    if not decision.allowed:
        raise PolicyRefusal(decision.reason, decision=decision)
    return audio
