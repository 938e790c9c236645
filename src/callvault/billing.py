"""The billing subset under legal hold: readable for bookkeeping only.

What the Danish Bookkeeping Act obliges the operator to keep of a billed call is processed under
Art. 6(1)(c) and survives erasure only for that obligation (Art. 17(3)(b)). It may therefore be read
for the purpose ``bookkeeping`` and no other: every other purpose is refused, and both are audited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .audit import AuditEntry
from .errors import PolicyRefusal
from .store.schema_retention import billing_records
from .tenants import get_tenant
from .vault import Vault

PURPOSE = "bookkeeping"
LEGAL_BASIS = "legal_obligation"


def read_billing(vault: Vault, tenant_id: str, purpose: str, actor: str) -> list[dict[str, Any]]:
    """The tenant's billing records for ``purpose`` bookkeeping; PolicyRefusal for any other."""
    with vault.transaction() as conn:
        get_tenant(conn, tenant_id)  # NotFound for an unknown tenant
        if purpose != PURPOSE:
            vault.audit(
                conn,
                tenant_id,
                AuditEntry(
                    actor=actor,
                    action="billing.read",
                    outcome="deny",
                    purpose=purpose,
                    reason="billing records are held under a legal obligation for bookkeeping only",
                ),
            )
    if purpose != PURPOSE:  # raised after the refusal's audit entry has committed
        raise PolicyRefusal(
            f"billing records are kept under a legal obligation and readable only for purpose "
            f"{PURPOSE!r}, not {purpose!r}"
        )
    with vault.transaction() as conn:
        rows = conn.execute(
            select(billing_records)
            .where(billing_records.c.tenant_id == tenant_id)
            .order_by(billing_records.c.call_date, billing_records.c.record_id)
        ).all()
        vault.audit(
            conn,
            tenant_id,
            AuditEntry(
                actor=actor,
                action="billing.read",
                outcome="allow",
                purpose=purpose,
                legal_basis=LEGAL_BASIS,
                details={"records": len(rows)},
            ),
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
