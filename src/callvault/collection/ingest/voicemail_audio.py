"""Voicemail recordings under a content key split between the mailbox owner and the caller.

A recording is personal data of both people on it (Art. 4(1)), and either may ask for erasure
(Art. 17). Deleting the row does not reach backups; destroying a data key does (crypto-shredding).
So each message gets a random share per party, each sealed under that party's data key, and the
recording is sealed under ::

    K = HKDF-SHA256(share_owner || share_caller, info = "callvault|voicemail|<tenant>|<voicemail id>")

(only ``share_owner`` when the caller is unknown or not collected). Destroying either data key
makes its share, hence K, unrecoverable. Shares live in ``voicemail_keys`` (one row per party).

Opening a recording is a read of personal data: it happens only in
:mod:`callvault.processing.recordings`, behind the processing gate.
"""

from __future__ import annotations

import os
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from callvault.crypto.keyring import field_aad
from callvault.crypto.primitives import KEY_BYTES, derive_key, open_sealed, seal
from callvault.store.schema.core import voicemails
from callvault.store.schema.voicemail_keys import voicemail_keys
from callvault.vault import Vault

ROLES = ("owner", "caller")  # the order the shares are concatenated in
Party = tuple[str, bytes]  # (subject id, data key)


def content_key(tenant_id: str, voicemail_id: str, shares: list[bytes], message: bytes) -> bytes:
    """K from the parties' shares and the message's own key (kept in the key store): destroying
    either party's data key, or the message key when the message is deleted, loses K."""
    return derive_key(b"".join([*shares, message]), f"voicemail|{tenant_id}|{voicemail_id}")


def share_aad(tenant_id: str, subject_id: str, voicemail_id: str, role: str) -> bytes:
    return field_aad(tenant_id, subject_id, f"voicemail_key.{voicemail_id}.{role}")


def seal_audio(
    tenant_id: str,
    voicemail_id: str,
    audio: bytes,
    owner: Party,
    caller: Party | None,
    message: bytes,
) -> tuple[bytes, list[dict[str, object]]]:
    """The sealed recording and its ``voicemail_keys`` rows."""
    parties = [("owner", owner)] + ([("caller", caller)] if caller is not None else [])
    shares: list[bytes] = []
    rows: list[dict[str, object]] = []
    for role, (subject_id, dek) in parties:
        share = os.urandom(KEY_BYTES)
        shares.append(share)
        sealed = seal(dek, share, share_aad(tenant_id, subject_id, voicemail_id, role))
        rows.append({"tenant_id": tenant_id, "voicemail_id": voicemail_id, "role": role,
                     "subject_id": subject_id, "share": sealed})  # fmt: skip
    key = content_key(tenant_id, voicemail_id, shares, message)
    return seal(key, audio, field_aad(tenant_id, voicemail_id, "audio")), rows


def move_caller_shares(
    vault: Vault, conn: Connection, tenant_id: str, moves: dict[str, tuple[str, datetime]]
) -> None:
    """Re-seal caller shares of external subjects (``moves``: external -> (user, since)) for the
    user, before the external's data key is shredded (a directory user took over its number).
    Only messages received from ``since`` on: older ones are the previous holder's."""
    if not moves:
        return
    k, v = voicemail_keys.c, voicemails.c
    deks = vault.keyring.deks(tenant_id, set(moves) | {user for user, _ in moves.values()})
    rows = conn.execute(
        select(k.voicemail_id, k.subject_id, k.share, v.received_at)
        .join(voicemails, (v.tenant_id == k.tenant_id) & (v.voicemail_id == k.voicemail_id))
        .where(k.tenant_id == tenant_id, k.role == "caller", k.subject_id.in_(list(moves)))
    ).all()
    changes = []
    for row in rows:
        old, (new, since) = row.subject_id, moves[row.subject_id]
        if row.received_at < since:
            continue  # the previous holder's message: its share stays under their key
        old_dek, new_dek = deks[old], deks[new]
        share = open_sealed(
            old_dek, row.share, share_aad(tenant_id, old, row.voicemail_id, "caller")
        )
        resealed = seal(new_dek, share, share_aad(tenant_id, new, row.voicemail_id, "caller"))
        changes.append({"v": row.voicemail_id, "n": new, "sh": resealed})
    if changes:
        conn.execute(
            update(voicemail_keys)
            .where(k.tenant_id == tenant_id, k.role == "caller", k.voicemail_id == bindparam("v"))
            .values(subject_id=bindparam("n"), share=bindparam("sh")),
            changes,
        )


__all__ = ["ROLES", "content_key", "move_caller_shares", "seal_audio", "share_aad"]
