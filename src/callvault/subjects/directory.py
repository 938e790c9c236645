"""Subjects and their identifiers: surrogate ids, encrypted values, blind-indexed lookups, shredding.

A subject is a tenant's user or an external caller (an external number is a person too: its own data
key, so that erasure and retention reach it). Its identifiers are stored only as AES-GCM ciphertext
under its data key, plus a keyed blind index for the kinds that are looked up.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, insert, select

from callvault.crypto.keyring import field_aad
from callvault.errors import NotFound
from callvault.store.schema.core import subject_identifiers, subjects, tenants
from callvault.subjects.identifiers import INDEXED_KINDS, index_form, lookup_forms
from callvault.vault import Vault, queue_shreds

SUBJECT_KINDS = ("user", "external")


def new_id() -> str:
    """A random surrogate key: never derived from a number, e-mail or name."""
    return secrets.token_hex(16)


def identifier_rows(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    subject_id: str,
    dek: bytes,
    values: Mapping[str, Iterable[str]],
    region: str = "DK",
    since: Mapping[str, datetime] | None = None,
) -> list[dict[str, object]]:
    """Encrypted (and, where looked up, blind-indexed) rows for ``values`` of one subject;
    ``since`` gives the instant from which a user holds each number kind (phone, extension)."""
    rows: list[dict[str, object]] = []
    for kind, items in values.items():
        for slot, value in enumerate(items):
            aad = field_aad(tenant_id, subject_id, f"{kind}.{slot}")
            index = (
                vault.keyring.index(conn, tenant_id, index_form(kind, value, region))
                if kind in INDEXED_KINDS
                else None
            )
            rows.append(
                {
                    "tenant_id": tenant_id,
                    "subject_id": subject_id,
                    "kind": kind,
                    "slot": slot,
                    "blind_index": index,
                    "ciphertext": vault.keyring.encrypt(dek, value.encode("utf-8"), aad),
                }
            )
            if since is not None:  # only the directory ingest knows it; NULL: held for all time
                rows[-1]["since"] = since.get(kind)
    return rows


def create_subject(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    *,
    kind: str,
    values: Mapping[str, Iterable[str]],
    now: datetime,
    region: str | None = None,
) -> str:
    """Store one subject with its identifiers inside the caller's transaction; national numbers
    are read in ``region``, by default the tenant's."""
    if kind not in SUBJECT_KINDS:
        raise ValueError(f"subject kind {kind!r}")
    subject_id = new_id()
    dek = vault.keyring.new_dek(tenant_id, subject_id)  # in the key store, apart from the data
    conn.execute(
        insert(subjects),
        [
            {
                "tenant_id": tenant_id,
                "subject_id": subject_id,
                "kind": kind,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    region = region or tenant_region(vault, conn, tenant_id)
    rows = identifier_rows(vault, conn, tenant_id, subject_id, dek, values, region)
    if rows:
        conn.execute(insert(subject_identifiers), rows)
    return subject_id


def no_subject(tenant_id: str) -> NotFound:
    """The one answer for a subject that does not exist, is of another tenant or is not the
    asker's own: nobody learns from it whether a subject exists (Art. 5(1)(f))."""
    return NotFound(f"no such subject in tenant {tenant_id}")


def vault_region(vault: Vault) -> str:
    """The default region for numbers without a country code: the operator's country."""
    return vault.policy.policy.operator.country


def tenant_region(vault: Vault, conn: Connection, tenant_id: str) -> str:
    """The region a tenant's national numbers are read in: its country, else the operator's."""
    country = conn.scalar(select(tenants.c.country).where(tenants.c.tenant_id == tenant_id))
    return country or vault_region(vault)


# Built once: a lookup runs for every request that names a subject (only parameters change).
_FIND = (
    select(subjects.c.subject_id)
    .where(subjects.c.tenant_id == bindparam("t"), subjects.c.subject_id == bindparam("id"))
    .union_all(
        select(subject_identifiers.c.subject_id).where(
            subject_identifiers.c.tenant_id == bindparam("t"),
            subject_identifiers.c.blind_index.in_(bindparam("indexes", expanding=True)),
        )
    )
    .limit(1)
)


def _is_email(text: str) -> bool:
    return "@" in text and not text.lower().startswith("sip")


def find_subject(vault: Vault, conn: Connection, tenant_id: str, text: str) -> str:
    """Resolve a subject id, e-mail, phone number or extension within one tenant only.

    A subject of another tenant is "not found": no lookup reveals that it exists elsewhere.
    """
    text = text.strip()
    # Numbers are read in the tenant's country; an e-mail address needs no region (one query less).
    region = vault_region(vault) if _is_email(text) else tenant_region(vault, conn, tenant_id)
    indexes = [vault.keyring.index(conn, tenant_id, form) for form in lookup_forms(text, region)]
    # One query: the surrogate id itself, or any blind-indexed form of the text.
    found = conn.scalar(_FIND, {"t": tenant_id, "id": text, "indexes": indexes})
    if found is None:
        raise no_subject(tenant_id)
    return str(found)


def subject_dek(vault: Vault, conn: Connection, tenant_id: str, subject_id: str) -> bytes:
    held = conn.scalar(
        select(subjects.c.subject_id).where(
            subjects.c.tenant_id == tenant_id, subjects.c.subject_id == subject_id
        )
    )
    if held is None:
        raise no_subject(tenant_id)
    return vault.keyring.dek(tenant_id, subject_id)


def subject_identifiers_of(
    vault: Vault, conn: Connection, tenant_id: str, subject_id: str
) -> dict[str, list[str]]:
    """Decrypt one subject's identifiers: {kind: [values in slot order]}."""
    dek = subject_dek(vault, conn, tenant_id, subject_id)
    rows = conn.execute(
        select(subject_identifiers)
        .where(
            subject_identifiers.c.tenant_id == tenant_id,
            subject_identifiers.c.subject_id == subject_id,
        )
        .order_by(subject_identifiers.c.kind, subject_identifiers.c.slot)
    ).all()
    values: dict[str, list[str]] = {}
    for row in rows:
        aad = field_aad(tenant_id, subject_id, f"{row.kind}.{row.slot}")
        values.setdefault(row.kind, []).append(
            vault.keyring.decrypt(dek, row.ciphertext, aad).decode("utf-8")
        )
    return values


def shred_subjects(vault: Vault, conn: Connection, tenant_id: str, subject_ids: list[str]) -> int:
    """Crypto-shred: delete these subjects and their identifiers, and queue their data keys for
    destruction in the key store once this transaction commits (Art. 17).

    Any ciphertext of theirs that survives elsewhere (a backup, a replica, an unvacuumed page) can no
    longer be decrypted once the key is gone. Callers delete the subjects' other rows first.
    """
    total = 0
    for start in range(0, len(subject_ids), 1000):
        chunk = subject_ids[start : start + 1000]
        conn.execute(
            delete(subject_identifiers).where(
                subject_identifiers.c.tenant_id == tenant_id,
                subject_identifiers.c.subject_id.in_(chunk),
            )
        )
        result = conn.execute(
            delete(subjects).where(
                subjects.c.tenant_id == tenant_id, subjects.c.subject_id.in_(chunk)
            )
        )
        total += result.rowcount or 0
    queue_shreds(conn, tenant_id, subject_ids)
    vault.keyring.forget(tenant_id, subject_ids)
    return total
