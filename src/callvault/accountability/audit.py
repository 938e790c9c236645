"""The tamper-evident audit log (GDPR Art. 5(2) accountability, Art. 30, Art. 32(1)(d)).

Each tenant has its own hash chain: entry *n* stores the SHA-256 of its own content and of entry
*n-1*'s hash. ``audit_heads`` holds each chain's newest (seq, hash), updated in the same transaction, so
truncating the newest entries is caught too. An entry is written in the transaction of the change it
records: no change without its entry, no entry for a change that rolled back.

Entries name subjects by surrogate id and categories by key; they never hold an identifier's value.
Operator-wide events (key rotation, retention runs) go to the chain of :data:`OPERATOR`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from callvault.errors import NotFound
from callvault.store.schema.core import audit_heads, audit_log, tenants
from callvault.subjects.actors import check_actor

OPERATOR = "_operator"  # tenant ids cannot start with "_", so this chain cannot collide
GENESIS = "0" * 64
_VERIFY_PAGE = 5_000  # verify streams: a chain of millions of decisions fits in memory


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


@dataclass(frozen=True)
class Problem:
    tenant_id: str
    seq: int
    message: str

    def __str__(self) -> str:
        return f"tenant {self.tenant_id}, entry {self.seq}: {self.message}"


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    chains: int
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _digest(row: dict[str, Any]) -> str:
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
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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
_NEW_HEAD = insert(audit_heads)
_APPEND = insert(audit_log)


def _lock_head(conn: Connection, tenant_id: str) -> tuple[int, str] | None:
    query = _HEAD_FOR_UPDATE if conn.dialect.name == "postgresql" else _HEAD
    row = conn.execute(query, {"t": tenant_id}).first()
    return (row.seq, row.hash) if row else None


def record(
    conn: Connection, tenant_id: str, entry: AuditEntry, *, at: datetime | None = None
) -> int:
    """Append ``entry`` to the tenant's chain inside the caller's transaction; return its seq.

    The backstop of :func:`callvault.subjects.actors.check_actor`: an entry is never erased, so an actor that
    looks like an e-mail address or a number is refused here too (InvalidInput rolls the change back).
    """
    check_actor(entry.actor)
    head = _lock_head(conn, tenant_id)
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
    # Microsecond precision is what both databases keep; hash what will be read back.
    row = {
        "tenant_id": tenant_id,
        "seq": seq,
        "at": (at or datetime.now(UTC)).astimezone(UTC),
        "actor": entry.actor,
        "action": entry.action,
        "purpose": entry.purpose,
        "legal_basis": entry.legal_basis,
        "subject_id": entry.subject_id,
        "categories": sorted(entry.categories),
        "outcome": entry.outcome,
        "reason": entry.reason,
        "details": json.loads(json.dumps(entry.details, sort_keys=True, default=str)),
        "prev_hash": prev_hash,
    }
    row["hash"] = _digest(row)
    conn.execute(_APPEND, [row])
    if head:
        conn.execute(_MOVE_HEAD, {"t": tenant_id, "s": seq, "h": row["hash"]})
    else:
        conn.execute(_NEW_HEAD, [{"tenant_id": tenant_id, "seq": seq, "hash": row["hash"]}])
    return seq


def _check_chain(
    tenant_id: str, rows: Iterable[dict[str, Any]], head: tuple[int, str] | None
) -> tuple[int, Problem | None]:
    """Walk one chain in order; return how many entries were read and the first problem."""
    prev_hash, expected_seq = GENESIS, 1
    for row in rows:
        if row["seq"] != expected_seq:
            problem = f"missing; found entry {row['seq']} instead"
            return expected_seq, Problem(tenant_id, expected_seq, problem)
        if row["prev_hash"] != prev_hash:
            return expected_seq, Problem(
                tenant_id, row["seq"], "does not follow the previous entry"
            )
        if _digest(row) != row["hash"]:
            return expected_seq, Problem(tenant_id, row["seq"], "content was modified")
        prev_hash, expected_seq = row["hash"], expected_seq + 1
    count = expected_seq - 1
    if head is None:
        # Every tenant's chain starts with its tenant.add entry: no head means it was removed.
        return count, Problem(tenant_id, max(count, 1), "the chain (or its head) was removed")
    if head != (count, prev_hash):
        return count, Problem(tenant_id, count + 1, f"entries after {count} were removed")
    return count, None


def _chain_rows(conn: Connection, tenant_id: str) -> Iterator[dict[str, Any]]:
    query = select(audit_log).where(audit_log.c.tenant_id == tenant_id).order_by(audit_log.c.seq)
    for row in conn.execution_options(yield_per=_VERIFY_PAGE).execute(query):
        yield dict(row._mapping)


def _expected_chains(conn: Connection, tenant_id: str | None) -> set[str]:
    """Chains that must exist: every tenant's, the operator's once used, and any in the log."""
    found = set(conn.scalars(select(audit_heads.c.tenant_id)))
    found |= set(conn.scalars(select(audit_log.c.tenant_id).distinct()))
    found |= set(conn.scalars(select(tenants.c.tenant_id)))
    if tenant_id is None:
        return found
    if tenant_id not in found:
        raise NotFound(f"no tenant {tenant_id!r}")
    return {tenant_id}


def verify(conn: Connection, tenant_id: str | None = None) -> VerifyReport:
    """Recompute every chain (or one tenant's); report the first bad entry."""
    heads = {r.tenant_id: (r.seq, r.hash) for r in conn.execute(select(audit_heads)).all()}
    chains = sorted(_expected_chains(conn, tenant_id))
    checked = 0
    for chain in chains:
        count, problem = _check_chain(chain, _chain_rows(conn, chain), heads.get(chain))
        checked += count
        if problem:
            return VerifyReport(checked, len(chains), problem)
    return VerifyReport(checked, len(chains), None)


def entries(
    conn: Connection, tenant_id: str | None = None, *, limit: int = 100, action: str | None = None
) -> Iterator[dict[str, Any]]:
    """The newest entries first, as plain dicts (they hold no identifier values)."""
    query = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.seq.desc()).limit(limit)
    if tenant_id is not None:
        query = query.where(audit_log.c.tenant_id == tenant_id)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    for row in conn.execute(query):
        yield dict(row._mapping)
