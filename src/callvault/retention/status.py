"""``retention status``: per tenant and kind, the rule, the last run and the overdue records.

Deletion that silently stops is the failure this answers (Arp-Hansen, 2023): the overdue count is
computed live from the data, not from what the last run said it did, so a failed, killed or skipped run
shows as records past their period that are still held (Art. 5(1)(e), Art. 5(2)).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from callvault.clock import utcnow
from callvault.retention.rules import KINDS, overdue_counts, tenant_rules
from callvault.store.schema.retention import retention_runs
from callvault.tenants import get_tenant, list_tenants
from callvault.vault import Vault


@dataclass(frozen=True)
class TenantRetention:
    tenant_id: str
    rules: dict[str, dict[str, Any]]
    overdue: dict[str, int]
    last_run: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        finished = self.last_run is None or self.last_run["state"] == "done"
        return finished and not any(self.overdue.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant_id,
            "ok": self.ok,
            "last_run": self.last_run,
            "kinds": {kind: {**self.rules[kind], "overdue": self.overdue[kind]} for kind in KINDS},
            "overdue": dict(self.overdue),
        }


@dataclass(frozen=True)
class RetentionStatus:
    at: datetime
    tenants: list[TenantRetention]

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tenants)

    @property
    def overdue(self) -> int:
        return sum(sum(t.overdue.values()) for t in self.tenants)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "at": self.at.isoformat(),
            "overdue": self.overdue,
            "tenants": [t.as_dict() for t in self.tenants],
        }


def retention_status(
    vault: Vault, at: datetime | None = None, tenant: str | None = None
) -> RetentionStatus:
    """The retention state of every tenant (or one) at ``at`` (default: now)."""
    moment = at or utcnow()
    with vault.engine.connect() as conn:
        tenants = [get_tenant(conn, tenant)] if tenant else list_tenants(conn)
        rows = []
        for item in tenants:
            rules = tenant_rules(vault, item)
            rows.append(
                TenantRetention(
                    item.id,
                    {kind: rule.as_dict() for kind, rule in rules.items()},
                    overdue_counts(conn, item.id, rules, moment),
                    last_run(conn, item.id),
                )
            )
    return RetentionStatus(moment, rows)


def last_run(conn: Connection, tenant_id: str) -> dict[str, Any] | None:
    """The tenant's newest run; ``running`` with no finish time is a run in progress or killed."""
    row = conn.execute(
        select(retention_runs)
        .where(retention_runs.c.tenant_id == tenant_id)
        .order_by(retention_runs.c.started_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return {
        "run_id": row.run_id,
        "state": row.state,
        "as_of": row.as_of.isoformat(),
        "started_at": row.started_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "counts": row.counts,
        "error": row.error,
    }
