"""The collection gate's decision: which categories of a tenant's data may be stored at all.

A category is collected only when the tenant's collection profile (its documented instruction as
controller, Art. 28(3)(a)) names it *and* some purpose of the policy uses it (Art. 5(1)(b)-(c)): data
no purpose needs is not data we may keep. Everything else is dropped before it reaches storage.
A refusal is recorded in the audit log in its own transaction, then raised as
:class:`~callvault.errors.PolicyRefusal` (exit 3).
"""

from __future__ import annotations

from callvault.errors import PolicyRefusal
from callvault.processing.gate import Decision
from callvault.store.audit_chain import AuditEntry
from callvault.tenants import Tenant, get_tenant
from callvault.vault import Vault


def profile(vault: Vault, tenant: Tenant) -> frozenset[str]:
    """The categories this tenant's data may be stored under: its profile, as far as policy uses it."""
    return frozenset(tenant.collect) & vault.policy.collectable


def decide(vault: Vault, tenant: Tenant, category: str) -> Decision:
    if category in profile(vault, tenant):
        return Decision(True, f"tenant collects {category}", "tenant.collect", None,
                        frozenset({category}))  # fmt: skip
    return Decision(
        False,
        f"tenant {tenant.id} does not collect {category}: there is nothing to collect "
        "(Art. 5(1)(c) data minimisation)",
        "tenant.collect",
        None,
    )


def require(vault: Vault, tenant_id: str, category: str, *, action: str, actor: str) -> Tenant:
    """The tenant, if it collects ``category``; else audit the refusal and raise PolicyRefusal."""
    with vault.engine.connect() as conn:
        tenant = get_tenant(conn, tenant_id)
    decision = decide(vault, tenant, category)
    if decision.allowed:
        return tenant
    with vault.transaction() as conn:
        vault.audit(
            conn,
            tenant_id,
            AuditEntry(
                actor=actor,
                action=action,
                outcome="deny",
                categories=[category],
                reason=decision.reason,
                details={"rule": decision.rule},
            ),
        )
    raise PolicyRefusal(decision.reason, decision=decision)
