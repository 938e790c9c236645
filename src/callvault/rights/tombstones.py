"""Erasure tombstones, and erasing again after a backup of the data database is restored (Art. 17).

A restored backup brings back subjects erased since it was taken. The key store (kept apart from the
data, never restored with it) holds, per erasure, a keyed hash of each blind index the subject had:
HMAC-SHA256 under a sub-key of the tenant's blind-index key (``derive_key``). It names nobody by
itself; ``reapply_erasures`` (:mod:`callvault.rights.restore`) hashes the restored blind indexes the same way and erases every
subject whose marker it finds, with the same set-based erasure and its audit entry.
"""

from __future__ import annotations

import hmac

from sqlalchemy import Connection, select, tuple_

from callvault.crypto.primitives import derive_key
from callvault.store.schema.core import subject_identifiers, subjects
from callvault.vault import Vault

_PAGE = 5_000


def _marker_key(vault: Vault, conn: Connection, tenant_id: str) -> bytes:
    return derive_key(vault.keyring.tenant_key(conn, tenant_id, "blind_index"), "erasure-tombstone")


def marker(key: bytes, blind_index: bytes) -> bytes:
    return hmac.digest(key, bytes(blind_index), "sha256")


def subject_markers(vault: Vault, conn: Connection, tenant_id: str, subject_id: str) -> list[bytes]:
    """The tombstone markers of one subject: one per blind index it has, and one of its surrogate
    id (a subject with no looked-up identifier, only a name, is found again by it)."""
    key = _marker_key(vault, conn, tenant_id)
    i = subject_identifiers.c
    rows = conn.scalars(select(i.blind_index).where(
        i.tenant_id == tenant_id, i.subject_id == subject_id, i.blind_index.is_not(None)))  # fmt: skip
    return [marker(key, _id_form(subject_id)), *(marker(key, index) for index in rows)]


def _id_form(subject_id: str) -> bytes:
    return f"subject:{subject_id}".encode()


def marked_subjects(
    vault: Vault, conn: Connection, tenant_id: str, held: dict[bytes, str]
) -> dict[str, str]:
    """{subject id: request id} of the tenant's subjects whose id or one of whose blind indexes is
    marked. Keyset pages over the blind indexes: memory stays flat however many there are."""
    key = _marker_key(vault, conn, tenant_id)
    i = subject_identifiers.c
    found: dict[str, str] = {}
    for sid in conn.scalars(select(subjects.c.subject_id).where(subjects.c.tenant_id == tenant_id)):
        request = held.get(marker(key, _id_form(sid)))
        if request is not None:
            found[sid] = request
    last: tuple[str, str, int] = ("", "", -1)
    while True:
        rows = conn.execute(
            select(i.subject_id, i.kind, i.slot, i.blind_index)
            .where(i.tenant_id == tenant_id, i.blind_index.is_not(None))
            .where(tuple_(i.subject_id, i.kind, i.slot) > tuple_(*last))
            .order_by(i.subject_id, i.kind, i.slot)
            .limit(_PAGE)
        ).all()
        if not rows:
            return found
        for row in rows:
            request = held.get(marker(key, row.blind_index))
            if request is not None:
                found[row.subject_id] = request
        last = (rows[-1].subject_id, rows[-1].kind, rows[-1].slot)
