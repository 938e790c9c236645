"""The other party of a call, as a reader of one subject's history may see it.

The other party is a different data subject. A purpose resting on the reader's *consent*
(personalisation) cannot reveal that person's number: the caller never consented, and one person's
consent is no Art. 6(1) basis for processing another's data (Art. 6(1)(a), Art. 7; EDPB 05/2020).
So under a consent purpose another party appears as

- a colleague's **name**, when the party is a user of the same tenant (the name is in the company
  directory the controller publishes to its staff anyway), and the purpose may show names;
- otherwise a **contact token** ``contact-<hex>``: an HMAC, under a key derived from the tenant's
  pseudonym key, of the party's surrogate subject id. It is stable (the same caller is the same
  contact in call history, frequent contacts and voicemail, so personalisation still works) and it
  reveals no number (Art. 4(5), Art. 25(1)).

Numbers are decrypted in bulk only where a purpose may show them: one query per thousand parties,
one data-key unwrap per party.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from callvault.crypto.keyring import field_aad
from callvault.crypto.primitives import derive_key
from callvault.crypto.pseudonyms import token
from callvault.store.schema.core import subject_identifiers, subjects
from callvault.vault import Vault

_CHUNK = 1000


def _decrypt_first(
    vault: Vault, conn: Connection, tenant_id: str, party_ids: Iterable[str], kinds: tuple[str, ...]
) -> dict[str, tuple[str, str]]:
    """{party id: (kind, value)}: each party's slot-0 value of the first of ``kinds`` it has."""
    ids = sorted(set(party_ids))
    si, s = subject_identifiers.c, subjects.c
    found: dict[str, tuple[str, str]] = {}
    for start in range(0, len(ids), _CHUNK):
        query = (
            select(si.subject_id, si.kind, si.slot, si.ciphertext)
            .join(subjects, (s.tenant_id == si.tenant_id) & (s.subject_id == si.subject_id))
            .where(si.tenant_id == tenant_id, si.subject_id.in_(ids[start : start + _CHUNK]))
            .where(si.kind.in_(kinds), si.slot == 0)
        )
        if kinds == ("name",):
            query = query.where(s.kind == "user")  # only colleagues are shown by name
        rows = conn.execute(query).all()
        deks = vault.keyring.deks(tenant_id, [row.subject_id for row in rows])
        for row in rows:
            held = found.get(row.subject_id)
            if held is not None and kinds.index(held[0]) < kinds.index(row.kind):
                continue  # a number beats an extension
            dek = deks.get(row.subject_id)
            if dek is None:
                continue  # shredded: nothing of it can be shown

            aad = field_aad(tenant_id, row.subject_id, f"{row.kind}.{row.slot}")
            value = vault.keyring.decrypt(dek, row.ciphertext, aad).decode()
            found[row.subject_id] = (row.kind, value)
    return found


def party_numbers(
    vault: Vault, conn: Connection, tenant_id: str, party_ids: Iterable[str]
) -> dict[str, tuple[str, str]]:
    """{party id: (kind, number)}: each party's first phone number, else its extension."""
    return _decrypt_first(vault, conn, tenant_id, party_ids, ("phone", "extension"))


def colleague_names(
    vault: Vault, conn: Connection, tenant_id: str, party_ids: Iterable[str]
) -> dict[str, str]:
    """{party id: name} for the parties that are users of the tenant and have a name."""
    found = _decrypt_first(vault, conn, tenant_id, party_ids, ("name",))
    return {pid: value for pid, (_, value) in found.items()}


def contact_key(vault: Vault, conn: Connection, tenant_id: str) -> bytes:
    """The tenant's contact-token key: derived, so it is used for nothing else (one key, one use)."""
    base = vault.keyring.tenant_key(conn, tenant_id, "pseudonym")
    return derive_key(base, "contact tokens")


def contact_labels(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    party_ids: Iterable[str],
    *,
    key: bytes,
    names: bool,
) -> dict[str, str]:
    """{party id: colleague's name (when ``names``) or stable contact token}; never a number."""
    ids = set(party_ids)
    shown = colleague_names(vault, conn, tenant_id, ids) if names else {}
    return {pid: shown.get(pid) or token(key, "contact", pid) for pid in ids}
