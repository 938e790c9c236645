"""The audit chain's append: every change and every decision writes one entry in its own transaction.

Each tenant has its own hash chain (GDPR Art. 5(2) accountability, Art. 30, Art. 32(1)(d)): entry *n*
stores the HMAC-SHA256, under the audit key, of its own content and of entry *n-1*'s hash. ``audit_heads`` holds each chain's
newest (seq, hash), updated in the same transaction, so truncating the newest entries is caught too.
An entry is written in the transaction of the change it records: no change without its entry, no entry
for a change that rolled back. Verifying and reading the log is :mod:`callvault.accountability.audit`.

Entries name subjects by surrogate id and categories by key; they never hold an identifier's value.
Operator-wide events (key rotation, retention runs) go to the chain of :data:`OPERATOR`.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, insert, select, update
from sqlalchemy.dialects import postgresql

from callvault.store.prepared import Prepared
from callvault.store.schema.core import audit_heads, audit_log
from callvault.subjects.actors import check_actor

OPERATOR = "_operator"  # tenant ids cannot start with "_", so this chain cannot collide
GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    action: str
    outcome: str = "ok"
    purpose: str | None = None
    legal_basis: str | None = None
    subject_id: str | None = None
    categories: tuple[str, ...] | list[str] = ()
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def digest(row: dict[str, Any], key: bytes) -> str:
    """HMAC-SHA256 of the entry's canonical JSON under the audit key (kept in the key store), so
    write access to the data database alone cannot recompute a chain it rewrote."""
    material = {
        "tenant_id": row["tenant_id"],
        "seq": row["seq"],
        "at": row["at"].astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": row["actor"],
        "action": row["action"],
        "purpose": row["purpose"],
        "legal_basis": row["legal_basis"],
        "subject_id": row["subject_id"],
        "categories": list(row["categories"]),
        "outcome": row["outcome"],
        "reason": row["reason"],
        "details": row["details"],
        "prev_hash": row["prev_hash"],
    }
    canonical = _CANONICAL.encode(material)
    return hmac.digest(key, canonical.encode("utf-8"), "sha256").hex()


# What json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False) builds per
# call, built once.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# Statements built once: an audit entry is written for every decision, so it must stay cheap.
_HEAD = select(audit_heads.c.seq, audit_heads.c.hash).where(
    audit_heads.c.tenant_id == bindparam("t")
)
_HEAD_FOR_UPDATE = _HEAD.with_for_update()  # PostgreSQL: serialise the writers of one chain
_MOVE_HEAD = (
    update(audit_heads)
    .where(audit_heads.c.tenant_id == bindparam("t"))
    .values(seq=bindparam("s"), hash=bindparam("h"))
)
# Compare-and-swap: moves the head only if it still is the one this connection wrote last. It takes
# the head's row lock like SELECT ... FOR UPDATE does, so one statement both checks and serialises.
_SWAP_HEAD = (
    update(audit_heads)
    .where(
        audit_heads.c.tenant_id == bindparam("t"),
        audit_heads.c.seq == bindparam("old_s"),
        audit_heads.c.hash == bindparam("old_h"),
    )
    .values(seq=bindparam("s"), hash=bindparam("h"))
)
_NEW_HEAD = insert(audit_heads)
_APPEND = insert(audit_log)
# The two statements of every append but a chain's first, on the driver's cursor (store.prepared).
_SWAP = Prepared(_SWAP_HEAD)
_ADD = Prepared(_APPEND)
# PostgreSQL: both in one round trip; the entry is inserted only if the swap moved the head.
_SWAPPED = _SWAP_HEAD.returning(audit_heads.c.seq).cte("swapped")


def _swap_and_add(*ctes: Any) -> Prepared:
    """The swap and the entry's INSERT in one statement, with the change's ``ctes`` (WithRows)."""
    return Prepared(
        insert(audit_log)
        .from_select(
            [c.name for c in audit_log.columns],
            select(*[bindparam(c.name, type_=c.type) for c in audit_log.columns]).where(
                exists(select(_SWAPPED.c.seq))
            ),
        )
        .add_cte(_SWAPPED, *ctes)
    )


_SWAP_AND_ADD = _swap_and_add()
_WITH: dict[tuple[int, ...], tuple[tuple[Any, ...], Prepared]] = {}  # by the CTEs' identity


@dataclass(frozen=True)
class WithRows:
    """Rows a change writes in its audit entry's transaction, handed to :func:`record` so that on
    PostgreSQL they travel in the entry's own statement (one round trip for both): ``ctes`` are
    data-modifying CTEs (built once) and ``values`` their bind values, named apart from the
    entry's columns and ``t``, ``s``, ``h``, ``old_s``, ``old_h``. ``write`` writes the same rows
    on their own: on SQLite, and when the head must be read first. A CTE that modifies data runs
    whether or not the main statement inserts, so the rows are written either way."""

    ctes: tuple[Any, ...]
    values: Mapping[str, Any]
    write: Callable[[Connection], None]


def _with(ctes: tuple[Any, ...]) -> Prepared:
    key = tuple(id(cte) for cte in ctes)
    found = _WITH.get(key)
    if found is None:  # the CTEs are kept in the value, so their ids are not reused
        found = _WITH[key] = (ctes, _swap_and_add(*ctes))
    return found[1]


_HEADS = "callvault_audit_heads"  # connection info: {tenant: (seq, hash)} this connection wrote
_PLAIN = (str, int, float, bool, type(None))


def _lock_head(conn: Connection, tenant_id: str) -> tuple[int, str] | None:
    """The chain's head, locked for this transaction. On PostgreSQL a first entry races: both
    writers would see no head, so the head row is made first (0, GENESIS), then locked."""
    if conn.dialect.name != "postgresql":
        row = conn.execute(_HEAD, {"t": tenant_id}).first()  # SQLite: BEGIN IMMEDIATE holds it
        return (row.seq, row.hash) if row else None
    row = conn.execute(_HEAD_FOR_UPDATE, {"t": tenant_id}).first()
    if row is None:
        conn.execute(
            postgresql.insert(audit_heads)
            .values(tenant_id=tenant_id, seq=0, hash=GENESIS)
            .on_conflict_do_nothing()
        )
        row = conn.execute(_HEAD_FOR_UPDATE, {"t": tenant_id}).first()
    return (row.seq, row.hash) if row and row.seq else None


def chain_started(conn: Connection, tenant_id: str) -> bool:
    return conn.execute(_HEAD, {"t": tenant_id}).first() is not None


def _details(details: dict[str, Any]) -> dict[str, Any]:
    """The details as they read back from the JSON column (what is hashed must be what is read)."""
    for k, v in details.items():
        if type(k) is not str or type(v) not in _PLAIN:
            break
    else:
        return dict(details)  # already JSON as written: skip the round trip
    plain: dict[str, Any] = json.loads(json.dumps(details, sort_keys=True, default=str))
    return plain


def _entry_row(
    tenant_id: str, entry: AuditEntry, at: datetime, seq: int, prev_hash: str, key: bytes
) -> dict[str, Any]:
    row = {
        "tenant_id": tenant_id,
        "seq": seq,
        "at": at,
        "actor": entry.actor,
        "action": entry.action,
        "purpose": entry.purpose,
        "legal_basis": entry.legal_basis,
        "subject_id": entry.subject_id,
        "categories": sorted(entry.categories),
        "outcome": entry.outcome,
        "reason": entry.reason,
        "details": _details(entry.details),
        "prev_hash": prev_hash,
    }
    row["hash"] = digest(row, key)
    return row


def record(
    conn: Connection,
    tenant_id: str,
    entry: AuditEntry,
    key: bytes,
    *,
    at: datetime | None = None,
    with_rows: WithRows | None = None,
) -> int:
    """Append ``entry`` to the tenant's chain inside the caller's transaction; return its seq.

    The backstop of :func:`callvault.subjects.actors.check_actor`: an entry is never erased, so an actor that
    looks like an e-mail address or a number is refused here too (InvalidInput rolls the change back).

    The head this connection wrote last is remembered: the next entry moves the head from it by a
    compare-and-swap (two statements, no read; on PostgreSQL one, the swap in a CTE of the entry's
    INSERT). When another writer moved the head meanwhile, or that transaction rolled back, the
    swap changes no row (nor is the entry inserted) and the head is read under the lock.

    ``with_rows``: the change's own rows, written first (see :class:`WithRows`).
    """
    check_actor(entry.actor)
    # Microsecond precision is what both databases keep; hash what will be read back.
    moment = datetime.now(UTC) if at is None else at.astimezone(UTC)
    heads: dict[str, tuple[int, str]] = conn.info.setdefault(_HEADS, {})
    known = heads.pop(tenant_id, None)
    postgres = conn.dialect.name == "postgresql"
    if with_rows is not None and not (postgres and known is not None):
        with_rows.write(conn)
        with_rows = None
    if known is not None:
        row = _entry_row(tenant_id, entry, moment, known[0] + 1, known[1], key)
        swap = {"t": tenant_id, "old_s": known[0], "old_h": known[1], "s": row["seq"]}
        swap["h"] = row["hash"]
        if postgres and with_rows is not None:  # the rows are written whether or not it moved
            moved = _with(with_rows.ctes).run(conn, {**with_rows.values, **swap, **row}) == 1
        elif postgres:
            moved = _SWAP_AND_ADD.run(conn, {**swap, **row}) == 1
        elif moved := _SWAP.run(conn, swap) == 1:
            _ADD.run(conn, row)
        if moved:
            heads[tenant_id] = (row["seq"], row["hash"])
            return int(row["seq"])
    head = _lock_head(conn, tenant_id)
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
    row = _entry_row(tenant_id, entry, moment, seq, prev_hash, key)
    conn.execute(_APPEND, row)
    if head or conn.dialect.name == "postgresql":  # PostgreSQL made the head row in _lock_head
        conn.execute(_MOVE_HEAD, {"t": tenant_id, "s": seq, "h": row["hash"]})
    else:
        conn.execute(_NEW_HEAD, [{"tenant_id": tenant_id, "seq": seq, "hash": row["hash"]}])
    heads[tenant_id] = (seq, row["hash"])
    return seq
