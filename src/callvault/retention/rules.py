"""Retention rules per tenant and kind of record, and the records they make overdue.

A rule comes from the policy's ``retention`` section; a tenant's override may only shorten its period
(checked when the tenant is added, Art. 28(3)(a)). A record is *overdue* when its period has ended and
it is still identifiable: the number that must be zero after every good run (Art. 5(1)(e)).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from callvault.errors import ConfigError
from callvault.policy.periods import Period
from callvault.store.cells import floor
from callvault.store.schema.core import calls, subjects, voicemails
from callvault.store.schema.retention import billing_records
from callvault.tenants import Tenant, effective_retention
from callvault.vault import Vault

KINDS = ("call_record", "voicemail", "subject_profile", "billing_record")


@dataclass(frozen=True)
class Rule:
    kind: str
    period: Period
    then: str  # anonymise or delete
    after: str  # created or offboarded
    legal_obligation: str | None = None

    def cutoff(self, at: datetime) -> datetime:
        """Records that started (or were offboarded) before this moment are past their period."""
        return self.period.before(at)

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": str(self.period),
            "then": self.then,
            "after": self.after,
            "legal_obligation": self.legal_obligation,
        }


def tenant_rules(vault: Vault, tenant: Tenant) -> dict[str, Rule]:
    """The rule of every kind for this tenant; a kind without a rule is a configuration error."""
    effective = effective_retention(vault, tenant)
    rules = {}
    for kind in KINDS:
        base = vault.policy.retention.get(kind)
        if base is None or base.period is None:
            raise ConfigError(f"the policy has no retention period for {kind}: nothing may be kept")
        rules[kind] = Rule(
            kind, Period.parse(effective[kind]), base.then, base.after, base.legal_obligation
        )
    return rules


def overdue_counts(
    conn: Connection, tenant_id: str, rules: dict[str, Rule], at: datetime
) -> dict[str, int]:
    """Per kind: records past their period and still held (COUNTs over the time indexes)."""

    def count(table: Any, *where: Any) -> int:
        query = (
            select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id, *where)
        )
        return int(conn.scalar(query) or 0)

    billing_cut = floor(rules["billing_record"].cutoff(at), "day").date()
    return {
        "call_record": count(calls, calls.c.started_at < rules["call_record"].cutoff(at)),
        "voicemail": count(voicemails, voicemails.c.received_at < rules["voicemail"].cutoff(at)),
        "subject_profile": count(
            subjects,
            and_(
                subjects.c.kind == "user",
                subjects.c.offboarded_at < rules["subject_profile"].cutoff(at),
            ),
        ),
        "billing_record": count(billing_records, billing_records.c.call_date < billing_cut),
    }


def held_from(vault: Vault, tenant: Tenant, at: datetime) -> dict[str, datetime]:
    """Per kind, the oldest instant a record may have and still be served at ``at``.

    Reads ask this, never a period of their own: a record past its period is not served whether or
    not retention has run yet (Art. 5(1)(e) storage limitation). Billing records keep the day only,
    so their limit is the start of the cutoff's day, as retention deletes them.
    """
    effective = effective_retention(vault, tenant)
    limits = {}
    for kind in KINDS:
        base = vault.policy.retention.get(kind)
        # A kind the policy keeps no period for may not be kept at all (retention refuses to run
        # on it, ConfigError): nothing of it is served either.
        missing = base is None or base.period is None
        limits[kind] = at if missing else Period.parse(effective[kind]).before(at)
    limits["billing_record"] = floor(limits["billing_record"], "day")
    return limits
