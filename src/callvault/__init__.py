"""callvault: a privacy engine for business telephony.

The public Python API is what ``__all__`` lists; every other name is internal and may change.
"""

from .actors import check_actor
from .audit import AuditEntry, VerifyReport
from .billing import read_billing
from .collect.calls_ingest import ingest_calls
from .collect.report import IngestReport
from .collect.subjects_ingest import ingest_subjects
from .collect.voicemail_ingest import ingest_voicemail
from .consent import (
    ConsentRecord,
    ConsentState,
    consent_receipt,
    consent_state,
    give_consent,
    refuse_consent,
    withdraw_consent,
)
from .consent_expiry import expire_consents
from .disclosure import disclose
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
from .gate import Decision, decide, decide_disclosure
from .keys import rotate_master_key
from .notice import render_notice
from .policy import CompiledPolicy, Policy, default_policy, load_policy, parse_policy
from .policy.lint import LintReport, lint, lint_file
from .policy_versions import load_version
from .reads import read_subject
from .restrictions import object_to, restrict
from .retention import RetentionReport, run_retention
from .retention_status import RetentionStatus, retention_status
from .ropa import ropa as records_of_processing
from .ropa_jsonld import ropa_jsonld as records_as_jsonld
from .stats import statistics
from .subjects import create_subject, find_subject, shred_subjects, subject_identifiers_of
from .support import SupportSession, close_session, open_session
from .tenants import Tenant, add_tenant, describe_tenant, get_tenant
from .vault import Vault

__version__ = "0.1.0"

__all__ = [
    "AuditEntry",
    "CallvaultError",
    "CompiledPolicy",
    "ConfigError",
    "ConsentRecord",
    "ConsentState",
    "Decision",
    "IngestReport",
    "IntegrityError",
    "InvalidInput",
    "LintReport",
    "NotFound",
    "Policy",
    "PolicyInvalid",
    "PolicyRefusal",
    "RetentionReport",
    "RetentionStatus",
    "SupportSession",
    "Tenant",
    "UsageError",
    "Vault",
    "VerifyReport",
    "add_tenant",
    "check_actor",
    "close_session",
    "consent_receipt",
    "consent_state",
    "create_subject",
    "decide",
    "decide_disclosure",
    "default_policy",
    "describe_tenant",
    "disclose",
    "expire_consents",
    "find_subject",
    "get_tenant",
    "give_consent",
    "ingest_calls",
    "ingest_subjects",
    "ingest_voicemail",
    "lint",
    "lint_file",
    "load_policy",
    "load_version",
    "object_to",
    "open_session",
    "parse_policy",
    "read_billing",
    "read_subject",
    "records_as_jsonld",
    "records_of_processing",
    "refuse_consent",
    "render_notice",
    "restrict",
    "retention_status",
    "rotate_master_key",
    "run_retention",
    "shred_subjects",
    "statistics",
    "subject_identifiers_of",
    "withdraw_consent",
]
