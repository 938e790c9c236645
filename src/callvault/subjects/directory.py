"""Subjects and their identifiers: surrogate ids, encrypted values, blind-indexed lookups, shredding.

A subject is a tenant's user or an external caller (an external number is a person too: its own data
key, so that erasure and retention reach it). Its identifiers are stored only as AES-GCM ciphertext
under its data key, plus a keyed blind index for the kinds that are looked up.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, delete, insert, select

from callvault.crypto.keyring import field_aad
from callvault.crypto.primitives import cipher
from callvault.errors import NotFound
from callvault.store.prepared import Prepared
from callvault.store.schema.core import subject_identifiers, subjects, tenants
from callvault.subjects.identifiers import INDEXED_KINDS, index_form, lookup_forms
from callvault.vault import Vault, queue_shreds

SUBJECT_KINDS = ("user", "external")


def new_id() -> str:
    """A random surrogate key: never derived from a number, e-mail or name."""
    return os.urandom(16).hex()  # what secrets.token_hex(16) returns, without its three calls


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
    sealer = cipher(dek)  # one key schedule for all of the subject's values
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
                    "ciphertext": vault.keyring.encrypt(sealer, value.encode("utf-8"), aad),
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
    row = {"tenant_id": tenant_id, "subject_id": subject_id, "kind": kind, "created_at": now,
           "updated_at": now}  # fmt: skip
    _INSERT_SUBJECT.run(conn, row)
    region = region or tenant_region(vault, conn, tenant_id)
    rows = identifier_rows(vault, conn, tenant_id, subject_id, dek, values, region)
    _INSERT_IDENTIFIERS.run_many(conn, rows)
    return subject_id


# Built once: a subject is stored per directory entry and per new caller (only parameters change).
_INSERT_SUBJECT = Prepared(insert(subjects))
_INSERT_IDENTIFIERS = Prepared(insert(subject_identifiers))
_COUNTRY = select(tenants.c.country).where(tenants.c.tenant_id == bindparam("t"))


def no_subject(tenant_id: str) -> NotFound:
    """The one answer for a subject that does not exist, is of another tenant or is not the
    asker's own: nobody learns from it whether a subject exists (Art. 5(1)(f))."""
    return NotFound(f"no such subject in tenant {tenant_id}")


def vault_region(vault: Vault) -> str:
    """The default region for numbers without a country code: the operator's country."""
    return vault.policy.policy.operator.country


def tenant_region(vault: Vault, conn: Connection, tenant_id: str) -> str:
    """The region a tenant's national numbers are read in: its country, else the operator's.

    Read once per tenant and vault: a tenant's country is fixed when it is added."""
    known = vault.regions.get(tenant_id)
    if known is not None:
        return known
    country = conn.scalar(_COUNTRY, {"t": tenant_id})
    if country is None:  # no such tenant (or none set): nothing to remember
        return vault_region(vault)
    vault.regions[tenant_id] = str(country)
    return str(country)


# Built once: a lookup runs for every request that names a subject (only parameters change). The
# blind indexes are a fixed number of parameters (a text has at most _FORMS lookup forms, repeated
# to fill), so the statement is compiled once and never re-rendered per call.
_FORMS = 3
_s, _si = subjects.c, subject_identifiers.c
_FIND = (
    select(_s.subject_id, _s.kind)
    .where(_s.tenant_id == bindparam("t"), _s.subject_id == bindparam("id"))
    .union_all(
        select(_s.subject_id, _s.kind)
        .join_from(
            subject_identifiers,
            subjects,
            and_(_s.tenant_id == _si.tenant_id, _s.subject_id == _si.subject_id),
        )
        .where(
            _si.tenant_id == bindparam("t"),
            _si.blind_index.in_([bindparam(f"i{n}") for n in range(_FORMS)]),
        )
    )
    .limit(1)
)
_FIND_ONE = Prepared(_FIND)
_BY_ID = Prepared(
    select(_s.subject_id, _s.kind).where(
        _s.tenant_id == bindparam("t"), _s.subject_id == bindparam("id")
    )
)
_SURROGATE = re.compile(r"^[0-9a-f]{32}$")  # the form of new_id()


def is_surrogate(text: str) -> bool:
    """Whether ``text`` (stripped) has the form of a subject's surrogate id (:func:`new_id`)."""
    return _SURROGATE.match(text) is not None


def _is_email(text: str) -> bool:
    return "@" in text and not text.lower().startswith("sip")


def find_subject(
    vault: Vault, conn: Connection, tenant_id: str, text: str, *, region: str | None = None
) -> str:
    """Resolve a subject id, e-mail, phone number or extension within one tenant only.

    A subject of another tenant is "not found": no lookup reveals that it exists elsewhere.
    ``region``: the tenant's, when the caller has read it already.
    """
    return find_subject_kind(vault, conn, tenant_id, text, region=region)[0]


def find_subject_kind(
    vault: Vault, conn: Connection, tenant_id: str, text: str, *, region: str | None = None
) -> tuple[str, str]:
    """:func:`find_subject`, and the subject's kind (user or external) from the same query."""
    text = text.strip()
    if _SURROGATE.match(text):  # the commonest lookup: by id, no blind index to compute
        found = _BY_ID.first(conn, {"t": tenant_id, "id": text})
        if found is not None:
            return str(found.subject_id), str(found.kind)
    # Numbers are read in the tenant's country; an e-mail address needs no region (one query less).
    if region is None:
        region = vault_region(vault) if _is_email(text) else tenant_region(vault, conn, tenant_id)
    forms = lookup_forms(text, region)
    assert len(forms) <= _FORMS  # an id, an extension and a number at most
    indexes = [vault.keyring.index(conn, tenant_id, form) for form in forms]
    params: dict[str, object] = {"t": tenant_id, "id": text}
    params.update((f"i{n}", indexes[min(n, len(indexes) - 1)]) for n in range(_FORMS))
    # One query: the surrogate id itself, or any blind-indexed form of the text.
    found = _FIND_ONE.first(conn, params)
    if found is None:
        raise no_subject(tenant_id)
    return str(found.subject_id), str(found.kind)


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
    opener = cipher(dek)
    for row in rows:
        aad = field_aad(tenant_id, subject_id, f"{row.kind}.{row.slot}")
        values.setdefault(row.kind, []).append(
            vault.keyring.decrypt(opener, row.ciphertext, aad).decode("utf-8")
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
