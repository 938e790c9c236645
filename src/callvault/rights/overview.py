"""What the privacy centre shows a signed-in subject (Art. 15(1)(a)-(h), Art. 13(2)): per category the
tenant collects, its purposes with their legal bases, recipients, sub-processors and retention, and
the subject's consent per consent purpose. It is the subject's own view: the showing is audited
(``subject.overview``) with the subject's actor, in the transaction that reads its consents."""

from __future__ import annotations

from typing import Any

from callvault.clock import utcnow
from callvault.consent.state import consent_state
from callvault.rights.access_document import categories_info
from callvault.store.audit_chain import AuditEntry
from callvault.subjects.directory import find_subject
from callvault.tenants import get_tenant
from callvault.vault import Vault

__all__ = ["subject_overview"]


def subject_overview(vault: Vault, tenant_id: str, subject_id: str) -> dict[str, Any]:
    """The categories held for the tenant's subjects and ``subject_id``'s consent states."""
    now = utcnow()
    with vault.transaction() as conn:
        tenant = get_tenant(conn, tenant_id)
        found = find_subject(vault, conn, tenant_id, subject_id)
        consents = {
            name: consent_state(conn, tenant_id, found, purpose, vault.policy.version, now).valid
            for name, purpose in sorted(vault.policy.purposes.items())
            if purpose.legal_basis == "consent"
        }
        vault.audit(conn, tenant_id, AuditEntry(
            actor=f"subject:{found}", action="subject.overview", subject_id=found,
            details={"categories": len(tenant.collect)}))  # fmt: skip
    texts = {name: spec.text for name, spec in vault.policy.policy.purposes.items()}
    return {
        "categories": categories_info(vault, tenant, frozenset(tenant.collect)),
        "consents": [
            {"purpose": name, "text": texts[name], "given": given}
            for name, given in consents.items()
        ],
    }
