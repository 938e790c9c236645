"""The privacy notice (GDPR Art. 13/14), generated from the policy and the tenant's profile."""

from __future__ import annotations

import hashlib
import json

from ..tenants import Tenant, effective_retention
from ..vault import Vault


def notice_hash(vault: Vault, tenant: Tenant) -> str:
    """SHA-256 over what the tenant's notice is generated from: the policy and the tenant's profile."""
    material = {
        "policy": vault.policy.digest,
        "collect": sorted(tenant.collect),
        "retention": effective_retention(vault, tenant),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
