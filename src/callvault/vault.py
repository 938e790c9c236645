"""The vault: one database, one master key, one policy. Every library function takes a :class:`Vault`.

Opening a vault connects to the database (``CALLVAULT_DB``, default ``sqlite:///callvault.db``), loads
the master key (``CALLVAULT_MASTER_KEY`` or the key file) and compiles the policy
(the newest version stored in the vault, else ``CALLVAULT_POLICY`` or the default policy shipped with
callvault).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import DBAPIError

from callvault.crypto.keyring import Keyring
from callvault.crypto.keystore import KeyStore, legacy_tenant_keys, new_vault_id
from callvault.crypto.master_key import MasterKey, load_master_key
from callvault.errors import ConfigError
from callvault.policy import CompiledPolicy, Policy, default_policy, load_policy
from callvault.policy.versions import PolicyVersion, list_versions, stored_policy
from callvault.store import connect, migrate
from callvault.store.audit_chain import OPERATOR, AuditEntry, chain_started, record
from callvault.store.database import writing
from callvault.store.schema.core import tenants, vault_meta

DB_ENV = "CALLVAULT_DB"
POLICY_ENV = "CALLVAULT_POLICY"
DEFAULT_DB = "sqlite:///callvault.db"


def database_url(url: str | None = None) -> str:
    return url or os.environ.get(DB_ENV) or DEFAULT_DB


def configured_policy() -> Policy:
    path = os.environ.get(POLICY_ENV)
    return load_policy(path) if path else default_policy()


@contextmanager
def catalogue(url: str | None = None) -> Iterator[Connection]:
    """A connection to the vault's public part (policy versions, tenant profiles) without the master
    key: neither holds personal data, and the policy and the notice are published (Art. 13)."""
    engine = connect(database_url(url))
    try:
        with engine.connect() as conn:
            yield conn
    except DBAPIError as exc:  # not migrated: the tables do not exist
        raise ConfigError("the vault is not initialised here; run `callvault init`") from exc
    finally:
        engine.dispose()


def policy_in_force(url: str | None = None) -> Policy:
    """The newest policy version stored in the vault at ``url``, else the configured policy."""
    engine = connect(database_url(url))
    try:
        return stored_policy(engine) or configured_policy()
    finally:
        engine.dispose()


def policy_history(url: str | None = None) -> list[PolicyVersion]:
    """The stored policy versions, oldest first; the last one is in force."""
    with catalogue(url) as conn:
        return list_versions(conn)


def _vault_id(engine: Engine) -> tuple[str, bool]:
    """The vault's id (made on first open) and whether it already holds tenants."""
    query = select(vault_meta.c.value).where(
        vault_meta.c.tenant_id == OPERATOR, vault_meta.c.name == "vault_id"
    )
    try:
        with writing(engine) as conn:
            found = conn.scalar(query)
            if found is None:
                found = new_vault_id()
                conn.execute(insert(vault_meta), [{"tenant_id": OPERATOR, "name": "vault_id",
                                                   "value": found}])  # fmt: skip
            has_tenants = conn.scalar(select(tenants.c.tenant_id).limit(1)) is not None
    except DBAPIError as exc:  # not migrated: the tables do not exist
        raise ConfigError("the vault is not initialised here; run `callvault init`") from exc
    return found, has_tenants


def _bind_keystore(keystore: KeyStore, engine: Engine, key: MasterKey) -> None:
    vault_id, has_tenants = _vault_id(engine)
    if has_tenants and keystore.fingerprint() is None and not keystore.holds_keys():
        # A fresh key store for a vault with data would silently mint new keys: refuse instead.
        raise ConfigError(
            f"the key store at {keystore.where} is empty but this vault holds tenants: restore the "
            "key store (CALLVAULT_KEYSTORE) it was created with"
        )
    keystore.bind(vault_id, key)


@dataclass
class Vault:
    engine: Engine
    keyring: Keyring
    policy: CompiledPolicy

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        master_key: MasterKey | None = None,
        policy: Policy | None = None,
        create: bool = False,
        keystore: str | None = None,
    ) -> Vault:
        """Open (and with ``create``, initialise or migrate) the vault at ``url``.

        The master key is checked against the key store (``keystore``, default
        ``CALLVAULT_KEYSTORE``) before anything else is read: another key is IntegrityError.
        """
        engine = connect(database_url(url))
        key = master_key or load_master_key(create=create)
        store = KeyStore.open(keystore)
        if create:
            # Keys move to the key store before the migration that drops their old table.
            store.adopt(legacy_tenant_keys(engine))
            migrate(engine)
        _bind_keystore(store, engine, key)
        # The newest policy version stored in the vault is in force (callvault.policy.versions).
        compiled = CompiledPolicy.compile(policy or stored_policy(engine) or configured_policy())
        vault = cls(engine=engine, keyring=Keyring(key, store), policy=compiled)
        vault._start_operator_chain()
        return vault

    def _start_operator_chain(self) -> None:
        """The operator's chain always exists, so that removing it whole is caught by verify."""
        with self.transaction() as conn:
            if not chain_started(conn, OPERATOR):
                self.audit(conn, OPERATOR, AuditEntry(actor="operator", action="vault.create"))

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: a change and its audit entry commit together or not at all."""
        with writing(self.engine) as conn:
            yield conn

    def audit(self, conn: Connection, tenant_id: str, entry: AuditEntry) -> int:
        """Append ``entry`` to the tenant's chain in ``conn``'s transaction (HMAC under the audit
        key from the key store)."""
        return record(conn, tenant_id, entry, self.keyring.audit_key())

    def ready(self) -> bool:
        """Whether the database answers and is this vault's (its id is readable): for
        ``/readyz``. Never raises; a driver's message could name the host or a path."""
        try:
            with self.engine.connect() as conn:
                return conn.scalar(select(vault_meta.c.value).where(
                    vault_meta.c.tenant_id == OPERATOR, vault_meta.c.name == "vault_id"
                )) is not None  # fmt: skip
        except Exception:
            return False

    def close(self) -> None:
        self.engine.dispose()
        self.keyring.keystore.close()
