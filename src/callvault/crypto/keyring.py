"""The key hierarchy at run time: tenant keys and subject data keys, unwrapped on demand and cached.

Wrapped keys live in the database (``tenant_keys``, ``subjects.wrapped_dek``); unwrapped keys live only
in this process's memory. Rotation re-wraps every stored key under a new master key in one transaction
and touches no ciphertext of data (DESIGN, "Storage").
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, tuple_, update

from callvault.crypto.master_key import MasterKey
from callvault.crypto.primitives import blind_index, new_key, open_sealed, seal
from callvault.errors import ConfigError
from callvault.store.schema.core import subjects, tenant_keys

TENANT_KEY_PURPOSES = ("blind_index", "pseudonym")
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
    def __init__(self, master: MasterKey) -> None:
        self.master = master
        self._tenant_keys: dict[tuple[str, str], bytes] = {}
        self._deks: OrderedDict[tuple[str, str], bytes] = OrderedDict()

    # --- tenant keys -------------------------------------------------------------------------
    def create_tenant_keys(self, conn: Connection, tenant_id: str, now: datetime) -> None:
        rows = []
        for purpose in TENANT_KEY_PURPOSES:
            key = new_key()
            wrapped = self.master.wrap(key, _tenant_aad(tenant_id, purpose))
            rows.append(
                {
                    "tenant_id": tenant_id,
                    "purpose": purpose,
                    "wrapped_key": wrapped,
                    "created_at": now,
                }
            )
        conn.execute(insert(tenant_keys), rows)

    def tenant_key(self, conn: Connection, tenant_id: str, purpose: str) -> bytes:
        cached = self._tenant_keys.get((tenant_id, purpose))
        if cached is not None:
            return cached
        wrapped = conn.scalar(
            select(tenant_keys.c.wrapped_key).where(
                tenant_keys.c.tenant_id == tenant_id, tenant_keys.c.purpose == purpose
            )
        )
        if wrapped is None:
            raise ConfigError(f"tenant {tenant_id} has no {purpose} key")
        key = self.master.unwrap(wrapped, _tenant_aad(tenant_id, purpose))
        self._tenant_keys[(tenant_id, purpose)] = key
        return key

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
        """Re-wrap every stored key under ``new_master`` inside the caller's transaction."""
        counts = {"tenant_keys": 0, "data_keys": 0}
        for row in conn.execute(select(tenant_keys)).all():
            aad = _tenant_aad(row.tenant_id, row.purpose)
            rewrapped = new_master.wrap(self.master.unwrap(row.wrapped_key, aad), aad)
            conn.execute(
                update(tenant_keys)
                .where(
                    tenant_keys.c.tenant_id == row.tenant_id, tenant_keys.c.purpose == row.purpose
                )
                .values(wrapped_key=rewrapped)
            )
            counts["tenant_keys"] += 1
        counts["data_keys"] = self._rotate_deks(conn, new_master)
        self.master = new_master
        return counts

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
