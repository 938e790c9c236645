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

from callvault.accountability.audit import AuditEntry, record
from callvault.crypto.keyring import Keyring
from callvault.crypto.primitives import MasterKey, load_master_key
from callvault.policy import CompiledPolicy, Policy, default_policy, load_policy
from callvault.policy.versions import stored_policy
from callvault.store import connect, migrate

DB_ENV = "CALLVAULT_DB"
POLICY_ENV = "CALLVAULT_POLICY"
DEFAULT_DB = "sqlite:///callvault.db"


def database_url(url: str | None = None) -> str:
    return url or os.environ.get(DB_ENV) or DEFAULT_DB


def configured_policy() -> Policy:
    path = os.environ.get(POLICY_ENV)
    return load_policy(path) if path else default_policy()


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
