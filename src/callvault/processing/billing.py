"""The billing subset under legal hold: readable for bookkeeping only, through the processing gate.

What the Danish Bookkeeping Act obliges the operator to keep of a billed call is processed under
Art. 6(1)(c) and survives erasure only for that obligation (Art. 17(3)(b)). A read is decided by
:func:`callvault.processing.gate.decide` like every other read: the purpose must be a policy purpose whose output is
``billing_records`` (``bookkeeping``), its legal obligation must be named, the tenant must collect the
categories. The decision and the read are audited in the same transaction; a refusal is audited and
then raised, and never quotes the asked purpose (it is raw input; the audit stores it only when it is a
policy purpose name).

Restriction (Art. 18): the gate is asked once per payer. A restricted payer's records stay stored (Art.
18(2) allows storage) but are left out of the read and counted in the audit entry. Art. 18(2) lets
restricted data be processed for legal claims, not for a routine legal obligation such as bookkeeping;
an operator who needs them for a claim lifts the restriction for that purpose, which is itself audited.

Linkage with the statistics: a record keeps the day, the exact billable seconds (the billed amount the
Act requires) and the payer's surrogate id; nothing else. Retention deletes every statistics cell of
fewer than k people (:mod:`callvault.retention.suppression`), so on a quiet day there is no cell to
join a record with. Hour cells that survive describe k or more of the tenant's users, so the hour of
one payer's call is not singled out by them. The remaining inference: if a day's only outbound
answered hour cell is one of k or more people, a payer billed that day called in that hour
(homogeneity; shared with k - 1 others, not unique to the payer).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from callvault.clock import utcnow
from callvault.errors import PolicyRefusal
from callvault.policy.model import BILLING
from callvault.processing.context import rules_for
from callvault.processing.gate import Decision, GateContext, decide
from callvault.retention.rules import held_from
from callvault.rights.restriction import restricted_subjects
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.retention import billing_records
from callvault.subjects.actors import check_actor
from callvault.tenants import Tenant, get_tenant
from callvault.vault import Vault


def _decide(
    actor: str, tenant: Tenant, payer: str | None, purpose: str, at: datetime, ctx: GateContext
) -> Decision:
    """The gate's answer for the tenant (``payer`` None) or one payer (restricted: refused)."""
    decision = decide(actor, tenant, payer, purpose, None, at, ctx=ctx, output=BILLING)
    rule = ctx.rules.get(purpose)
    if decision.allowed and (rule is None or rule.output != BILLING):
        # The gate lets a records purpose ask for billing output; billing records serve only the
        # purpose whose output they are (Art. 5(1)(b)).
        reason = "billing records are readable only for the purpose whose output they are"
        return Decision(False, reason, "output.billing_purpose", decision.legal_basis)
    return decision


def _rows(conn: Connection, tenant_id: str, oldest: date) -> list[Any]:
    """The tenant's records still within their legal period: one past it is never served, whether
    or not retention has deleted it yet (Art. 5(1)(e))."""
    b = billing_records.c
    return list(
        conn.execute(
            select(billing_records)
            .where(b.tenant_id == tenant_id, b.call_date >= oldest)
            .order_by(billing_records.c.call_date, billing_records.c.record_id)
        )
    )


def read_billing(vault: Vault, tenant_id: str, purpose: str, actor: str) -> list[dict[str, Any]]:
    """The tenant's billing records, for a purpose whose output they are; PolicyRefusal otherwise."""
    check_actor(actor)
    at = utcnow()
    rules = rules_for(vault.policy)
    rows: list[Any] = []
    with vault.transaction() as conn:
        tenant = get_tenant(conn, tenant_id)  # NotFound for an unknown tenant
        decision = _decide(actor, tenant, None, purpose, at, GateContext(rules=rules))
        details: dict[str, Any] = {"rule": decision.rule}
        if decision.allowed:
            restricted = set(conn.scalars(restricted_subjects(tenant_id, at)))
            oldest = held_from(vault, tenant, at)["billing_record"].date()
            every = _rows(conn, tenant_id, oldest)
            payers = {row.payer_subject_id for row in every} - {None}
            allowed = {
                payer
                for payer in payers
                if _decide(
                    actor,
                    tenant,
                    payer,
                    purpose,
                    at,
                    GateContext(rules=rules, restricted=payer in restricted),
                ).allowed
            }
            rows = [r for r in every if r.payer_subject_id is None or r.payer_subject_id in allowed]
            details |= {"records": len(rows), "records_withheld": len(every) - len(rows)}
        known = purpose in vault.policy.purposes
        entry = AuditEntry(
            actor=actor,
            action="billing.read",
            outcome="allow" if decision.allowed else "deny",
            purpose=purpose if known else None,  # raw input is not recorded
            legal_basis=decision.legal_basis,
            categories=sorted(decision.categories),
            reason=None if decision.allowed else decision.reason,
            details=details,
        )
        vault.audit(conn, tenant_id, entry)
    if not decision.allowed:  # raised after the refusal's audit entry has committed
        raise PolicyRefusal(
            "billing records are kept under a legal obligation and readable only for the purpose "
            f"that obliges keeping them, not for this purpose ({decision.reason})",
            decision=decision,
        )
    return [
        {
            "record_id": row.record_id,
            "call_date": row.call_date.isoformat(),
            "billsec_s": row.billsec_s,
            "payer_subject_id": row.payer_subject_id,
        }
        for row in rows
    ]
