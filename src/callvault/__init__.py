"""callvault: a privacy engine for business telephony.

The public Python API is what ``__all__`` lists; every other name is internal and may change.
"""

from callvault.accountability.audit import AuditEntry, VerifyReport
from callvault.accountability.notice import render_notice
from callvault.accountability.ropa import ropa as records_of_processing
from callvault.accountability.ropa_jsonld import ropa_jsonld as records_as_jsonld
from callvault.collection.ingest.calls import ingest_calls
from callvault.collection.ingest.report import IngestReport
from callvault.collection.ingest.subjects import ingest_subjects
from callvault.collection.ingest.voicemail import ingest_voicemail
from callvault.consent.acts import (
    ConsentRecord,
    ConsentState,
    consent_receipt,
    consent_state,
    give_consent,
    refuse_consent,
    withdraw_consent,
)
from callvault.consent.expiry import expire_consents
from callvault.crypto.rotation import rotate_master_key
from callvault.errors import (
    CallvaultError,
    ConfigError,
    IntegrityError,
    InvalidInput,
    NotFound,
    PolicyInvalid,
    PolicyRefusal,
    UsageError,
)
from callvault.policy import CompiledPolicy, Policy, default_policy, load_policy, parse_policy
from callvault.policy.lint import LintReport, lint, lint_file
from callvault.policy.versions import load_version
from callvault.processing.billing import read_billing
from callvault.processing.gate import Decision, decide, decide_disclosure
from callvault.processing.reads import read_subject
from callvault.processing.statistics import statistics
from callvault.processing.support import SupportSession, close_session, open_session
from callvault.retention.run import RetentionReport, run_retention
from callvault.retention.status import RetentionStatus, retention_status
from callvault.rights.disclosure import disclose
from callvault.rights.restriction import object_to, restrict
from callvault.subjects.actors import check_actor
from callvault.subjects.directory import (
    create_subject,
    find_subject,
    shred_subjects,
    subject_identifiers_of,
)
from callvault.tenants import Tenant, add_tenant, describe_tenant, get_tenant
from callvault.vault import Vault

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
