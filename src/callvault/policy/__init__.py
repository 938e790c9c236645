"""Policy as code: the operator's privacy policy as a validated document and compiled decision tables."""

from callvault.policy.compiled import CompiledPolicy, CompiledPurpose
from callvault.policy.loader import default_policy, load_policy, parse_policy
from callvault.policy.model import LEGAL_BASES, Policy, PurposeSpec, RetentionRule

__all__ = [
    "LEGAL_BASES",
    "CompiledPolicy",
    "CompiledPurpose",
    "Policy",
    "PurposeSpec",
    "RetentionRule",
    "default_policy",
    "load_policy",
    "parse_policy",
]
