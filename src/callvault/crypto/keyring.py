"""The key hierarchy at run time: tenant keys, operator keys and subject data keys, unwrapped on
demand and cached.

Tenant keys (blind index, pseudonym) and the operator's keys (audit chain, checkpoint signing) live in
the key store (:mod:`callvault.crypto.keystore`), created on first use; subject data keys in
``subjects.wrapped_dek``. Unwrapped keys live only in this process's memory. Rotation re-wraps every
stored key under a new master key and touches no ciphertext of data (DESIGN, "Storage").
"""

from __future__ import annotations

from collections import OrderedDict

from sqlalchemy import Connection, bindparam, select, tuple_, update

from callvault.crypto.keystore import KeyStore
from callvault.crypto.master_key import MasterKey
from callvault.crypto.primitives import blind_index, new_key, open_sealed, seal
from callvault.store.schema.core import subjects

TENANT_KEY_PURPOSES = ("blind_index", "pseudonym")
OPERATOR_KEYS = "_operator"  # the key store's owner of the operator-wide keys
_DEK_CACHE_SIZE = 100_000
_BATCH = 5_000


def _tenant_aad(tenant_id: str, purpose: str) -> bytes:
    return f"tenant-key|{tenant_id}|{purpose}".encode()


def _dek_aad(tenant_id: str, subject_id: str) -> bytes:
    return f"dek|{tenant_id}|{subject_id}".encode()


def field_aad(tenant_id: str, owner_id: str, field: str) -> bytes:
    """Binds a ciphertext to its row and field: a copied ciphertext does not decrypt elsewhere."""
    return f"data|{tenant_id}|{owner_id}|{field}".encode()


class Keyring:
    def __init__(self, master: MasterKey, keystore: KeyStore) -> None:
        self.master = master
        self.keystore = keystore
        self._tenant_keys: dict[tuple[str, str], bytes] = {}
        self._deks: OrderedDict[tuple[str, str], bytes] = OrderedDict()

    # --- tenant and operator keys ------------------------------------------------------------
    def tenant_key(self, _conn: Connection | None, tenant_id: str, purpose: str) -> bytes:
        """The tenant's key for ``purpose`` (created in the key store on first use)."""
        cached = self._tenant_keys.get((tenant_id, purpose))
        if cached is not None:
            return cached
        aad = _tenant_aad(tenant_id, purpose)
        wrapped = self.keystore.wrapped(tenant_id, purpose)
        if wrapped is None:
            wrapped = self.keystore.add_if_absent(
                tenant_id, purpose, self.master.wrap(new_key(), aad)
            )
        key = self.master.unwrap(wrapped, aad)
        self._tenant_keys[(tenant_id, purpose)] = key
        return key

    def audit_key(self) -> bytes:
        """The key of the audit chain's HMAC: write access to the data alone cannot forge it."""
        return self.tenant_key(None, OPERATOR_KEYS, "audit")

    def signing_seed(self) -> bytes:
        """32 random bytes, the Ed25519 private key that signs audit checkpoints."""
        return self.tenant_key(None, OPERATOR_KEYS, "signing")

    def index(self, conn: Connection, tenant_id: str, form: str) -> bytes:
        """The tenant's blind index of an already-normalised value (see identifiers.index_form)."""
        return blind_index(self.tenant_key(conn, tenant_id, "blind_index"), form)

    # --- subject data keys -------------------------------------------------------------------
    def new_dek(self, tenant_id: str, subject_id: str) -> tuple[bytes, bytes]:
        """A fresh data key and its wrapped form for storage."""
        dek = new_key()
        self._remember(tenant_id, subject_id, dek)
        return dek, self.master.wrap(dek, _dek_aad(tenant_id, subject_id))

    def dek(self, tenant_id: str, subject_id: str, wrapped: bytes) -> bytes:
        cached = self._deks.get((tenant_id, subject_id))
        if cached is not None:
            self._deks.move_to_end((tenant_id, subject_id))
            return cached
        dek = self.master.unwrap(wrapped, _dek_aad(tenant_id, subject_id))
        self._remember(tenant_id, subject_id, dek)
        return dek

    def forget(self, tenant_id: str, subject_ids: list[str]) -> None:
        """Drop shredded subjects' keys from memory too."""
        for subject_id in subject_ids:
            self._deks.pop((tenant_id, subject_id), None)

    def _remember(self, tenant_id: str, subject_id: str, dek: bytes) -> None:
        self._deks[(tenant_id, subject_id)] = dek
        if len(self._deks) > _DEK_CACHE_SIZE:
            self._deks.popitem(last=False)

    # --- data ---------------------------------------------------------------------------------
    @staticmethod
    def encrypt(dek: bytes, plaintext: bytes, aad: bytes) -> bytes:
        return seal(dek, plaintext, aad)

    @staticmethod
    def decrypt(dek: bytes, sealed: bytes, aad: bytes) -> bytes:
        return open_sealed(dek, sealed, aad)

    # --- rotation -----------------------------------------------------------------------------
    def rotate(self, conn: Connection, new_master: MasterKey) -> dict[str, int]:
        """Re-wrap every stored key under ``new_master``: the data keys inside the caller's
        transaction, the key store's keys in its own."""
        data_keys = self._rotate_deks(conn, new_master)
        counts = self.keystore.rewrap(self.master, new_master, _tenant_aad)
        self.master = new_master
        return {**counts, "data_keys": data_keys}

    def _rotate_deks(self, conn: Connection, new_master: MasterKey) -> int:
        statement = (
            update(subjects)
            .where(subjects.c.tenant_id == bindparam("t"), subjects.c.subject_id == bindparam("s"))
            .values(wrapped_dek=bindparam("w"))
        )
        total, last = 0, ("", "")
        while True:  # keyset pages: memory stays flat however many subjects there are
            rows = conn.execute(
                select(subjects.c.tenant_id, subjects.c.subject_id, subjects.c.wrapped_dek)
                .where(tuple_(subjects.c.tenant_id, subjects.c.subject_id) > tuple_(*last))
                .order_by(subjects.c.tenant_id, subjects.c.subject_id)
                .limit(_BATCH)
            ).all()
            if not rows:
                break
            batch = []
            for row in rows:
                aad = _dek_aad(row.tenant_id, row.subject_id)
                rewrapped = new_master.wrap(self.master.unwrap(row.wrapped_dek, aad), aad)
                batch.append({"t": row.tenant_id, "s": row.subject_id, "w": rewrapped})
            conn.execute(statement, batch)
            total += len(batch)
            last = (rows[-1].tenant_id, rows[-1].subject_id)
        return total
