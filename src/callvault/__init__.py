"""callvault: a privacy engine for business telephony.

The public Python API is what ``__all__`` lists; every other name is internal and may change.
"""

from .audit import AuditEntry, VerifyReport
from .billing import read_billing
from .errors import (
    CallvaultError,
    ConfigError,
    IntegrityError,
    InvalidInput,
    NotFound,
    PolicyInvalid,
    PolicyRefusal,
    UsageError,
)
from .keys import rotate_master_key
from .policy import CompiledPolicy, Policy, default_policy, load_policy, parse_policy
from .retention import RetentionReport, run_retention
from .retention_status import RetentionStatus, retention_status
from .subjects import create_subject, find_subject, shred_subjects, subject_identifiers_of
from .tenants import Tenant, add_tenant, describe_tenant, get_tenant
from .vault import Vault

__version__ = "0.1.0"

__all__ = [
    "AuditEntry",
    "CallvaultError",
    "CompiledPolicy",
    "ConfigError",
    "IntegrityError",
    "InvalidInput",
    "NotFound",
    "Policy",
    "PolicyInvalid",
    "PolicyRefusal",
    "RetentionReport",
    "RetentionStatus",
    "Tenant",
    "UsageError",
    "Vault",
    "VerifyReport",
    "add_tenant",
    "create_subject",
    "default_policy",
    "describe_tenant",
    "find_subject",
    "get_tenant",
    "load_policy",
    "parse_policy",
    "read_billing",
    "retention_status",
    "rotate_master_key",
    "run_retention",
    "shred_subjects",
    "subject_identifiers_of",
]
