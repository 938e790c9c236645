"""callvault: a privacy engine for business telephony.

The public Python API is what ``__all__`` lists (the README's "Python API" table names the same, and
a test keeps them in step); every other name is internal and may change. Nothing here skips a gate
or the audit log: subjects are created by ingest, read through the processing gate, disclosed through
the disclosure gate and removed by retention or erasure.
"""

from callvault.accountability.audit import VerifyReport, audit_entries, verify_audit
from callvault.accountability.checkpoint import make_checkpoint
from callvault.accountability.notice import FORMATS as NOTICE_FORMATS
from callvault.accountability.notice import render_notice
from callvault.accountability.ropa import ropa as records_of_processing
from callvault.accountability.ropa import ropa_markdown as records_as_markdown
from callvault.accountability.ropa_jsonld import ropa_jsonld as records_as_jsonld
from callvault.clock import parse_instant
from callvault.collection.ingest.calls import ingest_calls
from callvault.collection.ingest.follow import follow_calls
from callvault.collection.ingest.report import IngestReport
from callvault.collection.ingest.subjects import ingest_subjects
from callvault.collection.ingest.voicemail import ingest_voicemail
from callvault.collection.parsers.asterisk_csv import DEFAULT_TZ
from callvault.collection.parsers.formats import PARSERS
from callvault.collection.parsers.voicemail_spool import DEFAULT_CONTEXT
from callvault.consent.acts import (
    ConsentState,
    consent_receipt,
    consent_state,
    give_consent,
    refuse_consent,
    subject_consents,
    withdraw_consent,
)
from callvault.consent.expiry import expire_consents
from callvault.consent.records import ConsentRecord
from callvault.crypto.rotation import rotate_master_key
from callvault.errors import (
    Busy,
    CallvaultError,
    ConfigError,
    IntegrityError,
    InvalidInput,
    NotFound,
    PolicyInvalid,
    PolicyRefusal,
    RateLimited,
    TooLarge,
    Unauthenticated,
    UsageError,
)
from callvault.policy import CompiledPolicy, Policy, default_policy, load_policy, parse_policy
from callvault.policy.lint import LintReport, lint, lint_file
from callvault.policy.versions import PolicyVersion, changed_purposes, load_version
from callvault.processing.billing import read_billing
from callvault.processing.gate import Decision, decide
from callvault.processing.reads import read_subject
from callvault.processing.recordings import read_voicemail
from callvault.processing.statistics import statistics
from callvault.processing.support import SupportSession, close_session, open_session
from callvault.processing.support_requests import (
    approve_session,
    deny_session,
    pending_sessions,
    request_session,
)
from callvault.retention.rules import KINDS as RETENTION_KINDS
from callvault.retention.run import RetentionReport, run_retention
from callvault.retention.schedule import run_scheduled
from callvault.retention.status import RetentionStatus, retention_status
from callvault.rights.access import export_subject
from callvault.rights.callbacks import (
    callback_verifying_key,
    changed_requests,
    opendsr_status,
    send_callbacks,
    sign_body,
    with_processor_signature,
)
from callvault.rights.certificate import (
    callback_certificate,
    certificate_request,
    install_certificate,
)
from callvault.rights.disclosure import disclose
from callvault.rights.erasure import Erasure, erase
from callvault.rights.identity import Verification
from callvault.rights.overview import subject_overview
from callvault.rights.own_requests import (
    ask_request,
    cancel_own_request,
    own_requests,
    requested_value,
)
from callvault.rights.recipients import decide_disclosure
from callvault.rights.rectification import rectify
from callvault.rights.requests import (
    REQUEST_STATES,
    REQUEST_TYPES,
    SubjectRequest,
    cancel_request,
    complete_request,
    create_request,
    extend_request,
    get_request,
    list_requests,
    refuse_request,
    start_request,
    verify_request,
)
from callvault.rights.restore import Reapplied, reapply_erasures
from callvault.rights.restriction import object_to, restrict
from callvault.subjects.actors import check_actor
from callvault.subjects.codes import SignInCodes
from callvault.subjects.sessions import WebSessions
from callvault.subjects.tokens import ROLES as TOKEN_ROLES
from callvault.subjects.tokens import (
    Principal,
    authenticate,
    create_token,
    refuse_role,
    refuse_sign_in,
    refuse_unknown,
    revoke_token,
)
from callvault.tenants import Tenant, add_tenant, describe_tenant, tenant_profile
from callvault.vault import Vault, policy_history, policy_in_force

CALL_FORMATS = tuple(PARSERS)

__version__ = "0.1.0"

__all__ = [
    "CALL_FORMATS",
    "DEFAULT_CONTEXT",
    "DEFAULT_TZ",
    "NOTICE_FORMATS",
    "REQUEST_STATES",
    "REQUEST_TYPES",
    "RETENTION_KINDS",
    "TOKEN_ROLES",
    "Busy",
    "CallvaultError",
    "CompiledPolicy",
    "ConfigError",
    "ConsentRecord",
    "ConsentState",
    "Decision",
    "Erasure",
    "IngestReport",
    "IntegrityError",
    "InvalidInput",
    "LintReport",
    "NotFound",
    "Policy",
    "PolicyInvalid",
    "PolicyRefusal",
    "PolicyVersion",
    "Principal",
    "RateLimited",
    "Reapplied",
    "RetentionReport",
    "RetentionStatus",
    "SignInCodes",
    "SubjectRequest",
    "SupportSession",
    "Tenant",
    "TooLarge",
    "Unauthenticated",
    "UsageError",
    "Vault",
    "Verification",
    "VerifyReport",
    "WebSessions",
    "add_tenant",
    "approve_session",
    "ask_request",
    "audit_entries",
    "authenticate",
    "callback_certificate",
    "callback_verifying_key",
    "cancel_own_request",
    "cancel_request",
    "certificate_request",
    "changed_purposes",
    "changed_requests",
    "check_actor",
    "close_session",
    "complete_request",
    "consent_receipt",
    "consent_state",
    "create_request",
    "create_token",
    "decide",
    "decide_disclosure",
    "default_policy",
    "deny_session",
    "describe_tenant",
    "disclose",
    "erase",
    "expire_consents",
    "export_subject",
    "extend_request",
    "follow_calls",
    "get_request",
    "give_consent",
    "ingest_calls",
    "ingest_subjects",
    "ingest_voicemail",
    "install_certificate",
    "lint",
    "lint_file",
    "list_requests",
    "load_policy",
    "load_version",
    "make_checkpoint",
    "object_to",
    "open_session",
    "opendsr_status",
    "own_requests",
    "parse_instant",
    "parse_policy",
    "pending_sessions",
    "policy_history",
    "policy_in_force",
    "read_billing",
    "read_subject",
    "read_voicemail",
    "reapply_erasures",
    "records_as_jsonld",
    "records_as_markdown",
    "records_of_processing",
    "rectify",
    "refuse_consent",
    "refuse_request",
    "refuse_role",
    "refuse_sign_in",
    "refuse_unknown",
    "render_notice",
    "request_session",
    "requested_value",
    "restrict",
    "retention_status",
    "revoke_token",
    "rotate_master_key",
    "run_retention",
    "run_scheduled",
    "send_callbacks",
    "sign_body",
    "start_request",
    "statistics",
    "subject_consents",
    "subject_overview",
    "tenant_profile",
    "verify_audit",
    "verify_request",
    "with_processor_signature",
    "withdraw_consent",
]
