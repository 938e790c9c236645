"""Loading a :class:`~callvault.processing.gate.GateContext` from the database: the impure half of the gate.

The pure decision (:func:`callvault.processing.gate.decide`) reads only what this module loads: the policy's
compiled rules (cached per policy digest), and for one subject its consent for the asked purpose
(through :func:`callvault.consent.acts.consent_state`, the one consent interface), its restriction
(Art. 18), its objections (Art. 21) and, for purposes read in support sessions, the session named by a
ticket or id. A handful of indexed SELECTs, all tenant-scoped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from callvault.consent.acts import consent_state
from callvault.policy import CompiledPolicy
from callvault.policy.model import SUPPORT_SESSION
from callvault.processing.gate import ConsentLike, GateContext, PurposeRule, compile_rules
from callvault.processing.support import SupportSession, get_session
from callvault.rights.restriction import is_restricted, objections_of

_RULES: dict[str, dict[str, PurposeRule]] = {}


def rules_for(policy: CompiledPolicy) -> dict[str, PurposeRule]:
    """The gate's rules for this policy, compiled once per policy document (keyed by its digest)."""
    rules = _RULES.get(policy.digest)
    if rules is None:
        rules = _RULES[policy.digest] = compile_rules(policy)
    return rules


def tenant_context(policy: CompiledPolicy) -> GateContext:
    """A context with no subject state: for tenant-wide anonymous statistics."""
    return GateContext(rules=rules_for(policy))


def load_context(
    conn: Connection,
    policy: CompiledPolicy,
    tenant_id: str,
    subject_id: str,
    purpose: str,
    at: datetime,
    *,
    ticket: str | None = None,
    session_id: str | None = None,
) -> tuple[GateContext, SupportSession | None]:
    """The subject's state at ``at`` as the gate needs it for ``purpose`` (and the session used)."""
    rules = rules_for(policy)
    rule = rules.get(purpose)
    consents: dict[str, ConsentLike] = {}
    session = None
    if rule is not None and rule.legal_basis == "consent":
        compiled = policy.purposes[purpose]
        consents[purpose] = consent_state(conn, tenant_id, subject_id, compiled, policy.version, at)
    if rule is not None and rule.access == SUPPORT_SESSION:
        session = get_session(conn, tenant_id, session_id=session_id, ticket=ticket)
    asked = "session" if session_id else ("ticket" if ticket else None)
    ctx = GateContext(
        rules=rules,
        consents=consents,
        restricted=is_restricted(conn, tenant_id, subject_id, at),
        objections=objections_of(conn, tenant_id, subject_id, at),
        session=session,
        session_asked=asked,
    )
    return ctx, session
