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
    Column,
    Connection,
    DateTime,
    Engine,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    delete,
    event,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError as SQLAlchemyIntegrityError

from callvault.crypto.master_key import DEFAULT_KEY_FILE, KEY_FILE_ENV, MasterKey
from callvault.errors import ConfigError, IntegrityError
from callvault.store.database import connect, make_url_safe, writing

KEYSTORE_ENV = "CALLVAULT_KEYSTORE"
DEFAULT_KEYSTORE_FILE = "callvault.keystore.db"

metadata = MetaData()

keystore_meta = Table(
    "keystore_meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Tenant keys (blind index, pseudonym) and the operator's keys (audit chain, checkpoint signing).
vault_keys = Table(
    "vault_keys",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("purpose", String(32), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# Erasure tombstones (Art. 17): per erased subject, a keyed hash of each blind index it had. Kept here,
# apart from the data, so that a restored backup of the data database can be erased again from them
# (``dsr reapply-erasures``); they hold no identifier and no blind index.
erasure_tombstones = Table(
    "erasure_tombstones",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("marker", LargeBinary(32), primary_key=True),
    Column("request_id", String(36), nullable=False),
    Column("erased_at", DateTime, nullable=False),
)


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

    def add(self, rows: Iterable[tuple[str, str, bytes]]) -> None:
        """Store new wrapped keys (tenant, purpose, wrapped); an existing one is never replaced."""
        now = datetime.now(UTC).replace(tzinfo=None)
        values = [
            {"tenant_id": t, "purpose": p, "wrapped_key": w, "created_at": now} for t, p, w in rows
        ]
        if values:
            with self.transaction() as conn:
                conn.execute(insert(vault_keys), values)

    def add_if_absent(self, tenant_id: str, purpose: str, wrapped: bytes) -> bytes:
        """Store a key unless one exists (two processes may race); return the one that is stored."""
        try:
            return self._add_if_absent(tenant_id, purpose, wrapped)
        except SQLAlchemyIntegrityError:  # another process stored one first: use that one
            stored = self.wrapped(tenant_id, purpose)
            assert stored is not None
            return stored

    def _add_if_absent(self, tenant_id: str, purpose: str, wrapped: bytes) -> bytes:
        with self.transaction() as conn:
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

    def holds_keys(self) -> bool:
        with self.engine.connect() as conn:
            return conn.scalar(select(vault_keys.c.purpose).limit(1)) is not None

    def adopt(self, rows: list[tuple[str, str, bytes]]) -> None:
        """Take over wrapped keys kept in the data database before revision 0002 (same wrapping,
        same associated data); idempotent, so an upgrade killed half-way is simply run again."""
        for tenant_id, purpose, wrapped in rows:
            self.add_if_absent(tenant_id, purpose, wrapped)

    def forget_tenant(self, conn: Connection, tenant_id: str) -> None:
        conn.execute(delete(vault_keys).where(vault_keys.c.tenant_id == tenant_id))

    def rewrap(self, old: MasterKey, new: MasterKey, aad_of: Any) -> dict[str, int]:
        """Re-wrap every key under ``new`` and record its fingerprint, in one transaction."""
        counts = {"tenant_keys": 0}
        with self.transaction() as conn:
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
        """Make deletions physical on PostgreSQL (SQLite overwrites at once: ``secure_delete``)."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM vault_keys")

    def close(self) -> None:
        self.engine.dispose()


def legacy_tenant_keys(engine: Engine) -> list[tuple[str, str, bytes]]:
    """Tenant keys still in the data database's ``tenant_keys`` table (revision 0001), if any."""
    if not inspect(engine).has_table("tenant_keys"):
        return []
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT tenant_id, purpose, wrapped_key FROM tenant_keys"))
        return [(r.tenant_id, r.purpose, bytes(r.wrapped_key)) for r in rows]


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
