"""The tamper-evident audit log (GDPR Art. 5(2) accountability, Art. 30, Art. 32(1)(d)).

Verifying and reading the chains that :mod:`callvault.store.audit_chain` appends: each tenant's
entry *n* stores the HMAC-SHA256, under the key store's audit key, of its own content and of entry
*n-1*'s hash; ``audit_heads`` holds each chain's newest (seq, hash). The operator's chain always exists
and names every tenant added, so a chain (or a tenant) removed whole is caught; a clean cut of the
newest entries is caught against a signed checkpoint (:mod:`callvault.accountability.checkpoint`).

Entries name subjects by surrogate id and categories by key; they never hold an identifier's value.
Operator-wide events (key rotation, retention runs) go to the chain of :data:`OPERATOR`.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from callvault.accountability.checkpoint import Problem, check_checkpoint
from callvault.errors import NotFound
from callvault.store.audit_chain import GENESIS, OPERATOR, digest
from callvault.store.schema.core import audit_heads, audit_log, tenants
from callvault.vault import Vault

_VERIFY_PAGE = 5_000  # verify streams: a chain of millions of decisions fits in memory


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    chains: int
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _check_chain(
    tenant_id: str, rows: Iterable[dict[str, Any]], head: tuple[int, str] | None, key: bytes
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
        if not hmac.compare_digest(digest(row, key), row["hash"]):
            return expected_seq, Problem(tenant_id, row["seq"], "content was modified")
        prev_hash, expected_seq = row["hash"], expected_seq + 1
    count = expected_seq - 1
    if head is None or count == 0:
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
    """Chains that must exist: every tenant's (also every tenant the operator's chain names), the
    operator's (always), and any in the log."""
    found = {OPERATOR} | set(conn.scalars(select(audit_heads.c.tenant_id)))
    named = select(audit_log.c.details).where(
        audit_log.c.tenant_id == OPERATOR, audit_log.c.action == "tenant.add"
    )
    found |= {details["tenant"] for details in conn.scalars(named) if "tenant" in details}
    found |= set(conn.scalars(select(audit_log.c.tenant_id).distinct()))
    found |= set(conn.scalars(select(tenants.c.tenant_id)))
    if tenant_id is None:
        return found
    if tenant_id not in found:
        raise NotFound(f"no tenant {tenant_id!r}")
    return {tenant_id}


def verify(conn: Connection, key: bytes, tenant_id: str | None = None) -> VerifyReport:
    """Recompute every chain (or one tenant's) under the audit key; report the first bad entry."""
    heads = {r.tenant_id: (r.seq, r.hash) for r in conn.execute(select(audit_heads)).all()}
    chains = sorted(_expected_chains(conn, tenant_id))
    checked = 0
    for chain in chains:
        count, problem = _check_chain(chain, _chain_rows(conn, chain), heads.get(chain), key)
        checked += count
        if problem:
            return VerifyReport(checked, len(chains), problem)
    return VerifyReport(checked, len(chains), None)


def entries(
    conn: Connection, tenant_id: str | None = None, *, limit: int = 100, action: str | None = None
) -> Iterator[dict[str, Any]]:
    """The newest entries first, as plain dicts (they hold no identifier values).

    One tenant's: in its chain's order (newest ``seq`` first, the order entries were appended),
    which walks the primary key backwards and reads ``limit`` rows however long the log is.
    Every tenant's: by time, then ``seq``.
    """
    c = audit_log.c
    if tenant_id is not None:
        query = select(audit_log).where(c.tenant_id == tenant_id).order_by(c.seq.desc())
    else:
        query = select(audit_log).order_by(c.at.desc(), c.seq.desc())
    query = query.limit(limit)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    for row in conn.execute(query):
        yield dict(row._mapping)


def verify_audit(
    vault: Vault, tenant_id: str | None = None, *, checkpoint: dict[str, Any] | None = None
) -> VerifyReport:
    """Recompute every chain of the vault (or one tenant's); NotFound for an unknown tenant.

    With a ``checkpoint`` (:func:`callvault.accountability.checkpoint.make_checkpoint`, kept off the
    machine), its signature is checked against the vault's signing key and every head it recorded
    must still be in the log: a truncated tail, or a chain rewritten and re-linked, is caught.
    """
    with vault.engine.connect() as conn:
        report = verify(conn, vault.keyring.audit_key(), tenant_id)
        if report.ok and checkpoint is not None:
            return VerifyReport(report.checked, report.chains,
                                check_checkpoint(vault, conn, checkpoint, tenant_id))  # fmt: skip
        return report


def audit_entries(
    vault: Vault, tenant_id: str | None = None, *, limit: int = 100, action: str | None = None
) -> list[dict[str, Any]]:
    """The newest audit entries first (surrogate ids and category keys, never identifiers)."""
    with vault.engine.connect() as conn:
        return list(entries(conn, tenant_id, limit=limit, action=action))
