"""The key store: every wrapped key, kept in a database apart from the data (DESIGN, "Storage").

Why apart: erasure destroys a subject's data key (crypto-shredding, Art. 17). If the wrapped key sat
beside its ciphertext, every backup, replica or dump of the data database would still hold both, and
today's master key would open them. Here the data database holds only ciphertext; the key store holds
the wrapped keys, is small, and its backups are kept for less time than the erasure deadline, so a
shred reaches every copy that can still be opened.

``CALLVAULT_KEYSTORE`` names it (any SQLAlchemy URL; default a SQLite file beside the key file,
created 0600, with ``secure_delete`` on so a deleted key is overwritten on disk). On PostgreSQL use a
separate database (or at least a schema with its own role) and ``VACUUM`` the key tables after a
shred batch (:meth:`KeyStore.vacuum`).

It records the fingerprint of the master key that wraps its keys and the id of the vault it belongs
to: opening it with another master key, or for another vault, is refused before anything is read.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    delete,
    event,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError as SQLAlchemyIntegrityError

from callvault.crypto.keystore_tables import (
    erasure_tombstones,
    keystore_meta,
    legacy_subject_keys,
    legacy_tenant_keys,
    message_keys,
    metadata,
    subject_keys,
    vault_keys,
)
from callvault.crypto.master_key import DEFAULT_KEY_FILE, KEY_FILE_ENV, MasterKey
from callvault.errors import ConfigError, IntegrityError
from callvault.store.database import connect, make_url_safe, writing

KEYSTORE_ENV = "CALLVAULT_KEYSTORE"
DEFAULT_KEYSTORE_FILE = "callvault.keystore.db"

_CHUNK = 1000  # ids per IN list


def message_aad(tenant_id: str, voicemail_id: str) -> bytes:
    return f"message-key|{tenant_id}|{voicemail_id}".encode()


def keystore_url(url: str | None = None) -> str:
    """The key store's URL: given, else ``CALLVAULT_KEYSTORE``, else a file beside the key file."""
    if url or os.environ.get(KEYSTORE_ENV):
        return url or os.environ[KEYSTORE_ENV]
    key_file = Path(os.environ.get(KEY_FILE_ENV, DEFAULT_KEY_FILE))
    return f"sqlite:///{key_file.with_name(DEFAULT_KEYSTORE_FILE)}"


def _secure_delete(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")  # a deleted key is overwritten, not just unlinked
    cursor.close()


class KeyStore:
    """Wrapped keys by (tenant, purpose); the master key that wraps them never touches it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None) -> KeyStore:
        engine = connect(keystore_url(url))
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _secure_delete)
        metadata.create_all(engine)
        return cls(engine)

    @property
    def where(self) -> str:
        return make_url_safe(str(self.engine.url))

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with writing(self.engine) as conn:
            yield conn

    @contextmanager
    def wrapping(self, fingerprint: str | None) -> Iterator[Connection]:
        """A transaction that stores keys wrapped by the master key of ``fingerprint``: refused if
        another process rotated the master key meanwhile (the keys would be wrapped by a dead key).
        PostgreSQL: the fingerprint row is share-locked, so a rotation waits for this write."""
        with self.transaction() as conn:
            if fingerprint is not None:
                query = select(keystore_meta.c.value).where(
                    keystore_meta.c.name == "master_fingerprint"
                )
                if conn.dialect.name == "postgresql":
                    query = query.with_for_update(read=True)
                stored = conn.scalar(query)
                if stored is not None and stored != fingerprint:
                    raise ConfigError(
                        "the master key was rotated by another process: open the vault again "
                        "with the new key; nothing was stored"
                    )
            yield conn

    # --- binding to one vault and one master key ---------------------------------------------
    def meta(self, conn: Connection, name: str) -> str | None:
        return conn.scalar(select(keystore_meta.c.value).where(keystore_meta.c.name == name))

    def _set_meta(self, conn: Connection, name: str, value: str) -> None:
        if self.meta(conn, name) is None:
            conn.execute(insert(keystore_meta), [{"name": name, "value": value}])
        else:
            conn.execute(
                update(keystore_meta).where(keystore_meta.c.name == name).values(value=value)
            )

    def bind(self, vault_id: str, master: MasterKey) -> None:
        """Check (or, for a new key store, record) which vault and master key it serves.

        IntegrityError (exit 6) for another master key: nothing is read or written with it.
        """
        with self.transaction() as conn:
            known_vault = self.meta(conn, "vault_id")
            fingerprint = self.meta(conn, "master_fingerprint")
            if known_vault is None:
                self._set_meta(conn, "vault_id", vault_id)
            elif known_vault != vault_id:
                raise ConfigError(f"the key store at {self.where} belongs to another vault")
            if fingerprint is None:
                self._set_meta(conn, "master_fingerprint", master.fingerprint)
            elif fingerprint != master.fingerprint:
                raise IntegrityError(_wrong_key(master, fingerprint))

    def fingerprint(self) -> str | None:
        with self.engine.connect() as conn:
            return self.meta(conn, "master_fingerprint")

    # --- keys ----------------------------------------------------------------------------------
    def wrapped(self, tenant_id: str, purpose: str) -> bytes | None:
        with self.engine.connect() as conn:
            return conn.scalar(
                select(vault_keys.c.wrapped_key).where(
                    vault_keys.c.tenant_id == tenant_id, vault_keys.c.purpose == purpose
                )
            )

    def add_if_absent(
        self, tenant_id: str, purpose: str, wrapped: bytes, fingerprint: str | None
    ) -> bytes:
        """Store a key unless one exists (two processes may race); return the one that is stored."""
        try:
            return self._add_if_absent(tenant_id, purpose, wrapped, fingerprint)
        except SQLAlchemyIntegrityError:  # another process stored one first: use that one
            stored = self.wrapped(tenant_id, purpose)
            assert stored is not None
            return stored

    def _add_if_absent(
        self, tenant_id: str, purpose: str, wrapped: bytes, fingerprint: str | None
    ) -> bytes:
        with self.wrapping(fingerprint) as conn:
            found = conn.scalar(
                select(vault_keys.c.wrapped_key).where(
                    vault_keys.c.tenant_id == tenant_id, vault_keys.c.purpose == purpose
                )
            )
            if found is not None:
                return found
            now = datetime.now(UTC).replace(tzinfo=None)
            conn.execute(
                insert(vault_keys),
                [{"tenant_id": tenant_id, "purpose": purpose, "wrapped_key": wrapped,
                  "created_at": now}],
            )  # fmt: skip
            return wrapped

    # --- subject data keys --------------------------------------------------------------------
    def add_deks(self, tenant_id: str, wrapped: dict[str, bytes], fingerprint: str | None) -> None:
        """Store new subjects' wrapped data keys, in one transaction, before their data commits
        (a data transaction that then rolls back leaves only an unused key behind)."""
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = [
            {"tenant_id": tenant_id, "subject_id": s, "wrapped_dek": w, "created_at": now}
            for s, w in wrapped.items()
        ]
        if rows:
            with self.wrapping(fingerprint) as conn:
                conn.execute(insert(subject_keys), rows)

    def wrapped_deks(self, tenant_id: str, subject_ids: Iterable[str]) -> dict[str, bytes]:
        """{subject id: wrapped data key} of those that still have one (shredded ones do not)."""
        ids, found = sorted(set(subject_ids)), {}
        k = subject_keys.c
        with self.engine.connect() as conn:
            for start in range(0, len(ids), _CHUNK):
                query = select(k.subject_id, k.wrapped_dek).where(
                    k.tenant_id == tenant_id, k.subject_id.in_(ids[start : start + _CHUNK])
                )
                found.update({r.subject_id: bytes(r.wrapped_dek) for r in conn.execute(query)})
        return found

    def destroy(self, pending: list[tuple[str, str, str]]) -> int:
        """Delete these (tenant, kind, id) keys for good, subjects' data keys and voicemails'
        message keys: crypto-shredding (Art. 17)."""
        tables = {"subject": (subject_keys, subject_keys.c.subject_id),
                  "voicemail": (message_keys, message_keys.c.voicemail_id),
                  "session": (vault_keys, vault_keys.c.purpose)}  # fmt: skip
        grouped: dict[tuple[str, str], list[str]] = {}
        for tenant_id, kind, key_id in pending:
            # A support session's key is a tenant-level key named after the session.
            named = f"session:{key_id}" if kind == "session" else key_id
            grouped.setdefault((tenant_id, kind), []).append(named)
        destroyed = 0
        with self.transaction() as conn:
            for (tenant_id, kind), ids in grouped.items():
                table, column = tables[kind]
                for start in range(0, len(ids), _CHUNK):
                    chunk = ids[start : start + _CHUNK]
                    result = conn.execute(
                        delete(table).where(table.c.tenant_id == tenant_id, column.in_(chunk))
                    )
                    destroyed += result.rowcount or 0
        self.vacuum()
        return destroyed

    def add_message_keys(
        self, tenant_id: str, wrapped: dict[str, bytes], fingerprint: str | None
    ) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = [
            {"tenant_id": tenant_id, "voicemail_id": v, "wrapped_key": w, "created_at": now}
            for v, w in wrapped.items()
        ]
        if rows:
            with self.wrapping(fingerprint) as conn:
                conn.execute(insert(message_keys), rows)

    def wrapped_message_key(self, tenant_id: str, voicemail_id: str) -> bytes | None:
        return self.wrapped_message_keys(tenant_id, [voicemail_id]).get(voicemail_id)

    def wrapped_message_keys(
        self, tenant_id: str, voicemail_ids: Iterable[str]
    ) -> dict[str, bytes]:
        """{voicemail id: wrapped message key}; a deleted message's key is absent."""
        m = message_keys.c
        ids = sorted(set(voicemail_ids))
        found: dict[str, bytes] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), _CHUNK):
                rows = conn.execute(select(m.voicemail_id, m.wrapped_key).where(
                    m.tenant_id == tenant_id, m.voicemail_id.in_(ids[start : start + _CHUNK])))  # fmt: skip
                found.update((row.voicemail_id, bytes(row.wrapped_key)) for row in rows)
        return found

    def sample(self) -> tuple[str, str, str, bytes] | None:
        """One stored key, to check a master key against: (kind, tenant, purpose or subject, wrapped)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(vault_keys).limit(1)).first()
            if row is not None:
                return "tenant", row.tenant_id, row.purpose, bytes(row.wrapped_key)
            row = conn.execute(select(subject_keys).limit(1)).first()
            if row is not None:
                return "subject", row.tenant_id, row.subject_id, bytes(row.wrapped_dek)
        return None

    def holds_keys(self) -> bool:
        return self.sample() is not None

    def adopt(self, engine: Engine) -> None:
        """Take over the wrapped keys an older data database still holds (tenant keys before
        revision 0002, subjects' data keys before 0006): same wrapping, same associated data.
        Idempotent, so an upgrade killed half-way is simply run again."""
        for tenant_id, purpose, wrapped in legacy_tenant_keys(engine):
            self.add_if_absent(tenant_id, purpose, wrapped, None)  # not yet bound: no fingerprint
        by_tenant: dict[str, dict[str, bytes]] = {}
        for tenant_id, subject_id, wrapped in legacy_subject_keys(engine):
            by_tenant.setdefault(tenant_id, {})[subject_id] = wrapped
        for tenant_id, deks in by_tenant.items():
            held = self.wrapped_deks(tenant_id, deks)
            self.add_deks(tenant_id, {s: w for s, w in deks.items() if s not in held}, None)

    def forget_tenant(self, conn: Connection, tenant_id: str) -> None:
        conn.execute(delete(vault_keys).where(vault_keys.c.tenant_id == tenant_id))

    def rewrap(
        self, old: MasterKey, new: MasterKey, aad_of: Any, dek_aad_of: Any
    ) -> dict[str, int]:
        """Re-wrap every key under ``new`` and record its fingerprint, in one transaction: the key
        store is the only place keys live, so a rotation is all or nothing."""
        counts = {"tenant_keys": 0, "data_keys": 0}
        with self.transaction() as conn:
            stored_query = select(keystore_meta.c.value).where(
                keystore_meta.c.name == "master_fingerprint"
            )
            if conn.dialect.name == "postgresql":
                stored_query = stored_query.with_for_update()
            if conn.scalar(stored_query) != old.fingerprint:  # compare-and-set: one rotation wins
                raise ConfigError("another rotation changed the master key first; nothing changed")
            counts["data_keys"] = self._rewrap_deks(conn, old, new, dek_aad_of)
            counts["message_keys"] = self._rewrap_messages(conn, old, new)
            for row in conn.execute(select(vault_keys)).all():
                aad = aad_of(row.tenant_id, row.purpose)
                conn.execute(
                    update(vault_keys)
                    .where(
                        vault_keys.c.tenant_id == row.tenant_id,
                        vault_keys.c.purpose == row.purpose,
                    )
                    .values(wrapped_key=new.wrap(old.unwrap(row.wrapped_key, aad), aad))
                )
                counts["tenant_keys"] += 1
            self._set_meta(conn, "master_fingerprint", new.fingerprint)
        return counts

    def _rewrap_deks(self, conn: Connection, old: MasterKey, new: MasterKey, aad_of: Any) -> int:
        k = subject_keys.c
        statement = (
            update(subject_keys)
            .where(k.tenant_id == bindparam("t"), k.subject_id == bindparam("s"))
            .values(wrapped_dek=bindparam("w"))
        )
        total, last = 0, ("", "")
        while True:  # keyset pages: memory stays flat however many subjects there are
            rows = conn.execute(
                select(k.tenant_id, k.subject_id, k.wrapped_dek)
                .where(tuple_(k.tenant_id, k.subject_id) > tuple_(*last))
                .order_by(k.tenant_id, k.subject_id)
                .limit(5_000)
            ).all()
            if not rows:
                return total
            batch = []
            for row in rows:
                aad = aad_of(row.tenant_id, row.subject_id)
                rewrapped = new.wrap(old.unwrap(bytes(row.wrapped_dek), aad), aad)
                batch.append({"t": row.tenant_id, "s": row.subject_id, "w": rewrapped})
            conn.execute(statement, batch)
            total += len(batch)
            last = (rows[-1].tenant_id, rows[-1].subject_id)

    def _rewrap_messages(self, conn: Connection, old: MasterKey, new: MasterKey) -> int:
        m, total = message_keys.c, 0
        rows = conn.execute(select(m.tenant_id, m.voicemail_id, m.wrapped_key)).all()
        for row in rows:
            aad = message_aad(row.tenant_id, row.voicemail_id)
            rewrapped = new.wrap(old.unwrap(bytes(row.wrapped_key), aad), aad)
            conn.execute(
                update(message_keys)
                .where(m.tenant_id == row.tenant_id, m.voicemail_id == row.voicemail_id)
                .values(wrapped_key=rewrapped)
            )
            total += 1
        return total

    # --- erasure tombstones ---------------------------------------------------------------------
    def add_tombstones(self, tenant_id: str, request_id: str, markers: Iterable[bytes]) -> None:
        """Record an erasure's markers, committed before the data is erased (so a failure in
        between is finished by ``reapply-erasures``); a marker already held is kept as it is."""
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.transaction() as conn:
            held = set(self.tombstones(tenant_id, conn))
            rows = [{"tenant_id": tenant_id, "marker": m, "request_id": request_id,
                     "erased_at": now} for m in set(markers) - held]  # fmt: skip
            if rows:
                conn.execute(insert(erasure_tombstones), rows)

    def tombstones(self, tenant_id: str, conn: Connection | None = None) -> dict[bytes, str]:
        """{marker: request id} of the tenant's erasures."""
        query = select(erasure_tombstones.c.marker, erasure_tombstones.c.request_id).where(
            erasure_tombstones.c.tenant_id == tenant_id
        )
        if conn is not None:
            return {bytes(r.marker): r.request_id for r in conn.execute(query)}
        with self.engine.connect() as own:
            return {bytes(r.marker): r.request_id for r in own.execute(query)}

    def vacuum(self) -> None:
        """Make deletions physical: PostgreSQL ``VACUUM``; SQLite overwrites the page at once
        (``secure_delete``) and its WAL is checkpointed and truncated, so no old page image of a
        destroyed key stays in the ``-wal`` file."""
        if self.engine.dialect.name == "sqlite":
            autocommit = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            with autocommit as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM subject_keys")
                conn.exec_driver_sql("VACUUM message_keys")

    def close(self) -> None:
        self.engine.dispose()


def new_vault_id() -> str:
    return secrets.token_hex(16)


def _wrong_key(master: MasterKey, expected: str) -> str:
    pending = Path(master.source + ".new")
    hint = ""
    if pending.exists():
        hint = (
            f"; a key rotation was interrupted after it committed: the key in {pending} opens the "
            f"vault; move it over {master.source} to finish the rotation"
        )
    return (
        f"the master key from {master.source} (fingerprint {master.fingerprint}) is not this "
        f"vault's (fingerprint {expected}){hint}"
    )
