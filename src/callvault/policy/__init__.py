"""Policy as code: the operator's privacy policy as a validated document and compiled decision tables."""

from .compiled import CompiledPolicy, CompiledPurpose
from .loader import default_policy, load_policy, parse_policy
from .model import LEGAL_BASES, Policy, PurposeSpec, RetentionRule

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
