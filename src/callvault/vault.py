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

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from callvault.crypto.keyring import Keyring
from callvault.crypto.master_key import MasterKey, load_master_key
from callvault.errors import ConfigError
from callvault.policy import CompiledPolicy, Policy, default_policy, load_policy
from callvault.policy.versions import PolicyVersion, list_versions, stored_policy
from callvault.store import connect, migrate
from callvault.store.audit_chain import AuditEntry, record

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
    ) -> Vault:
        """Open (and with ``create``, initialise or migrate) the vault at ``url``."""
        engine = connect(database_url(url))
        if create:
            migrate(engine)
        key = master_key or load_master_key(create=create)
        # The newest policy version stored in the vault is in force (callvault.policy.versions).
        compiled = CompiledPolicy.compile(policy or stored_policy(engine) or configured_policy())
        return cls(engine=engine, keyring=Keyring(key), policy=compiled)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: a change and its audit entry commit together or not at all."""
        with self.engine.begin() as conn:
            yield conn

    def audit(self, conn: Connection, tenant_id: str, entry: AuditEntry) -> int:
        return record(conn, tenant_id, entry)

    def close(self) -> None:
        self.engine.dispose()
