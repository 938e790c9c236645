"""The vault: one database, one master key, one policy. Every library function takes a :class:`Vault`.

Opening a vault connects to the database (``CALLVAULT_DB``, default ``sqlite:///callvault.db``), loads
the master key (``CALLVAULT_MASTER_KEY`` or the key file) and compiles the policy
(the newest version stored in the vault, else ``CALLVAULT_POLICY`` or the default policy shipped with
callvault).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, insert, select, tuple_
from sqlalchemy.exc import DBAPIError

from callvault.crypto.keyring import Keyring
from callvault.crypto.keystore import KeyStore, new_vault_id
from callvault.crypto.master_key import MasterKey, load_master_key
from callvault.errors import ConfigError
from callvault.policy import CompiledPolicy, Policy, default_policy, load_policy
from callvault.policy.versions import PolicyVersion, list_versions, stored_policy
from callvault.store import connect, migrate
from callvault.store.audit_chain import OPERATOR, AuditEntry, WithRows, chain_started, record
from callvault.store.database import writing
from callvault.store.schema.core import shred_queue, tenants, vault_meta

DB_ENV = "CALLVAULT_DB"
POLICY_ENV = "CALLVAULT_POLICY"
DEFAULT_DB = "sqlite:///callvault.db"
log = logging.getLogger("callvault.vault")


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


_VAULT_ID = select(vault_meta.c.value).where(
    vault_meta.c.tenant_id == OPERATOR, vault_meta.c.name == "vault_id"
)


def _vault_id(engine: Engine) -> str:
    """The vault's id, made on first open. A plain read at every other open: no write lock."""
    try:
        with engine.connect() as conn:
            found = conn.scalar(_VAULT_ID)
        if found is None:
            with writing(engine) as conn:
                found = conn.scalar(_VAULT_ID)  # another process may have made it meanwhile
                if found is None:
                    found = new_vault_id()
                    conn.execute(insert(vault_meta), [{"tenant_id": OPERATOR, "name": "vault_id",
                                                       "value": found}])  # fmt: skip
    except DBAPIError as exc:  # not migrated: the tables do not exist
        raise ConfigError("the vault is not initialised here; run `callvault init`") from exc
    return str(found)


def _holds_tenants(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            return conn.scalar(select(tenants.c.tenant_id).limit(1)) is not None
    except DBAPIError:  # a new database: no tables yet
        return False


def _bind_keystore(keystore: KeyStore, engine: Engine, key: MasterKey) -> None:
    vault_id = _vault_id(engine)
    if keystore.fingerprint() is None and not keystore.holds_keys() and _holds_tenants(engine):
        # A fresh key store for a vault with data would silently mint new keys: refuse instead.
        raise ConfigError(
            f"the key store at {keystore.where} is empty but this vault holds tenants: restore the "
            "key store (CALLVAULT_KEYSTORE) it was created with"
        )
    keystore.bind(vault_id, key)


_SHREDS = "callvault_shreds"  # connection info flag: this transaction queued key destructions
_EVENTS = "callvault_events"  # connection info: what this transaction changed, told after commit
Event = tuple[str, ...]


def after_commit(conn: Connection, event: Event) -> None:
    """Tell the vault's listeners ``event`` (such as ``("request", tenant, id)``) once ``conn``'s
    transaction has committed; nothing is told of a rolled-back change."""
    conn.info.setdefault(_EVENTS, []).append(event)


def queue_shreds(
    conn: Connection, tenant_id: str, key_ids: list[str], kind: str = "subject"
) -> None:
    """Queue the keys of these subjects (their data keys) or voicemails (their message keys) for
    destruction in the key store when ``conn``'s transaction commits."""
    if not key_ids:
        return
    now = datetime.now(UTC)
    rows = [{"tenant_id": tenant_id, "kind": kind, "key_id": k, "queued_at": now} for k in key_ids]
    conn.execute(insert(shred_queue), rows)
    conn.info[_SHREDS] = True


@dataclass
class Vault:
    engine: Engine
    keyring: Keyring
    policy: CompiledPolicy
    # Called with the events of each committed transaction (see after_commit), in this process.
    listeners: list[Callable[[list[Event]], None]] = field(default_factory=list)
    # Each tenant's region (country) for reading national numbers, as read once: it is set when
    # the tenant is added and never changed, and every stored subject needs it.
    regions: dict[str, str] = field(default_factory=dict, init=False, repr=False)

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
        store: KeyStore | None = None
        try:
            # A key file is created only for a new vault, never for one that holds tenants.
            key = master_key or load_master_key(create=create and not _holds_tenants(engine))
            store = KeyStore.open(keystore)
            keyring = Keyring(key, store)
            if create:
                # Keys move to the key store before the migration that drops their old table,
                # and only if this master key opens them (else exit 6, nothing migrated).
                store.adopt(engine)
                keyring.check_master()
                migrate(engine)
            _bind_keystore(store, engine, key)
            # The newest policy version stored in the vault is in force (policy.versions).
            compiled = CompiledPolicy.compile(
                policy or stored_policy(engine) or configured_policy()
            )
        except BaseException:
            engine.dispose()
            if store is not None:
                store.close()
            raise
        vault = cls(engine=engine, keyring=keyring, policy=compiled)
        vault._start_operator_chain()
        vault.finish_shreds()  # after a crash between a shred's commit and its key destruction
        return vault

    def finish_shreds(self) -> int:
        """Destroy in the key store the keys of subjects and voicemails whose deletion has
        committed, then empty the queue. Idempotent: a crash in between is finished by the next
        call (every open makes one)."""
        q = shred_queue.c
        with self.engine.connect() as conn:
            pending = [tuple(r) for r in conn.execute(select(q.tenant_id, q.kind, q.key_id))]
        if not pending:
            return 0
        destroyed = self.keyring.keystore.destroy(pending)
        with writing(self.engine) as conn:
            for start in range(0, len(pending), 500):
                chunk = pending[start : start + 500]
                queued = tuple_(q.tenant_id, q.kind, q.key_id).in_(chunk)
                conn.execute(delete(shred_queue).where(queued))
        for tenant_id, _, key_id in pending:
            self.keyring.forget(tenant_id, [key_id])
        return destroyed

    def _start_operator_chain(self) -> None:
        """The operator's chain always exists, so that removing it whole is caught by verify."""
        with self.engine.connect() as conn:  # every open: a read, the write only on the first
            if chain_started(conn, OPERATOR):
                return
        with self.transaction() as conn:
            if not chain_started(conn, OPERATOR):
                self.audit(conn, OPERATOR, AuditEntry(actor="operator", action="vault.create"))

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: a change and its audit entry commit together or not at all."""
        # store.database.writing's transaction, inlined: every change passes here. (An engine made
        # once with the write option would cost more: its events dispatch through the parent's.)
        with self.engine.connect().execution_options(write=True) as conn, conn.begin():
            info = conn.info
            try:
                yield conn
                self.keyring.flush()  # new subjects' keys are stored before their data commits
            except BaseException:
                self.keyring.discard()  # keys of subjects that never were
                raise
            finally:
                queued = info.pop(_SHREDS, False)
                events = info.pop(_EVENTS, [])
        if queued:  # only after the commit: a rolled-back deletion keeps its subjects' keys
            self.finish_shreds()
        if events:
            self._tell(events)

    def _tell(self, events: list[Event]) -> None:
        for listener in list(self.listeners):
            try:
                listener(events)
            except Exception:  # a listener's failure never undoes nor fails a committed change
                log.exception("a commit listener failed")

    def audit(
        self,
        conn: Connection,
        tenant_id: str,
        entry: AuditEntry,
        *,
        with_rows: WithRows | None = None,
    ) -> int:
        """Append ``entry`` to the tenant's chain in ``conn``'s transaction (HMAC under the audit
        key from the key store); ``with_rows``, the change's own rows, are written with it."""
        return record(conn, tenant_id, entry, self.keyring.audit_key(), with_rows=with_rows)

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
