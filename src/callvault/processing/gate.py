"""The processing gate: one question, answered with a :class:`Decision` (the disclosure gate's
question is answered by :func:`callvault.rights.recipients.decide_disclosure`).

``decide(actor, tenant, subject_id, purpose, categories, at, ctx=...)`` is pure: it reads only its
arguments and a small precomputed :class:`GateContext` (the compiled policy's rules plus the subject's
consent, restriction, objections and support session, loaded by :mod:`callvault.processing.context`), so a
decision costs microseconds and is easy to test exhaustively.

Combining order (the first rule that denies decides; the reasons are distinct and user-readable):

1. the purpose must exist in the policy;
2. a subject under restriction is readable by no purpose (GDPR Art. 18(2));
3. a purpose whose output is anonymous statistics never yields records, and one whose output is
   billing records (the bookkeeping legal hold, read only by :func:`callvault.processing.billing.read_billing`)
   never yields a subject's event-level records (Art. 5(1)(b)-(c));
4. the legal basis must hold at ``at`` (Art. 6(1)):
   consent -> a given, not withdrawn consent for this purpose under the current policy (Art. 7);
   contract -> the tenant's service and support agreement in force (Art. 6(1)(b));
   legal_obligation -> a named law in the policy (Art. 6(1)(c), 6(3));
   legitimate_interest -> a documented assessment in the policy and no objection (Art. 6(1)(f), 21);
5. a purpose with ``access: support_session`` needs an open, unexpired support session, the
   actor must be the session's engineer, named ``support:<engineer>`` (Art. 29, Art. 32(4)), and
   the subject one of the session's ticket (Art. 5(1)(c), 28(3)(a));
6. categories: only those the purpose uses AND the tenant collects (Art. 5(1)(b)-(c), Art. 28(3)(a));
7. a purpose that pseudonymises categories it would return needs a support session: its tokens are
   keyed per session, so without one there is no key that keeps sessions unlinkable (Art. 4(5)).

A decision is data; adapters turn a denial into exit 3 / HTTP 403 with ``reason``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from callvault.policy import CompiledPolicy
from callvault.policy.model import BILLING, RECORDS, STATISTICS, SUPPORT_SESSION
from callvault.tenants import Tenant

# The sentence of the published policy that the disclosure gate enforces; source:
# spec/privacy-policy.txt, "Miralix and personal data", item 3 (the default policy's `recipients`).
NO_THIRD_PARTIES = "Miralix does not disclose personal data to any third party."
NO_THIRD_PARTIES_SOURCE = 'spec/privacy-policy.txt, "Miralix and personal data", item 3'


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    rule: str
    legal_basis: str | None
    categories: frozenset[str] = frozenset()


class ConsentLike(Protocol):
    """What the gate needs of a consent state (callvault.consent.acts.ConsentState)."""

    @property
    def valid(self) -> bool: ...

    @property
    def reason(self) -> str: ...


class SessionLike(Protocol):
    @property
    def session_id(self) -> str: ...

    @property
    def expires_at(self) -> datetime: ...

    @property
    def closed_at(self) -> datetime | None: ...

    @property
    def opened_at(self) -> datetime: ...

    @property
    def engineer(self) -> str: ...

    @property
    def subjects(self) -> frozenset[str]: ...


@dataclass(frozen=True, slots=True)
class PurposeRule:
    """One purpose compiled for the gate: what step 4 needs beyond CompiledPurpose."""

    name: str
    legal_basis: str
    categories: frozenset[str]
    access: str
    output: str
    basis_problem: str | None  # a missing law or assessment: the basis can never hold
    allow_rule: str = ""
    pseudonymise: frozenset[str] = frozenset()
    # Steps 6-7's decisions by (tenant, its profile, categories asked, output): see decide().
    finished: dict[tuple[object, ...], Decision] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )


def compile_rules(policy: CompiledPolicy) -> dict[str, PurposeRule]:
    """Per purpose, the rule the gate applies; computed once per policy."""
    rules = {}
    for name, purpose in policy.purposes.items():
        spec = policy.policy.purposes[name]
        problem = None
        if purpose.legal_basis == "legal_obligation" and not spec.legal_obligation:
            problem = f"{name} claims a legal obligation but the policy names no law (Art. 6(3))"
        elif (
            purpose.legal_basis == "legitimate_interest" and not spec.legitimate_interest_assessment
        ):
            problem = (
                f"{name} claims a legitimate interest but the policy records no assessment "
                "(Art. 6(1)(f))"
            )
        elif purpose.legal_basis in ("vital_interest", "public_task"):
            problem = f"callvault does not process for {purpose.legal_basis} ({name})"
        rules[name] = PurposeRule(
            name,
            purpose.legal_basis,
            purpose.categories,
            purpose.access,
            purpose.output,
            problem,
            f"{name}.{purpose.legal_basis}",
            purpose.pseudonymise,
        )
    return rules


@dataclass(frozen=True, slots=True)
class GateContext:
    """Everything a decision reads besides its arguments; cheap to build, reused across decisions."""

    rules: Mapping[str, PurposeRule]
    consents: Mapping[str, ConsentLike] = field(default_factory=dict)
    restricted: bool = False
    objections: frozenset[str] = frozenset()
    session: SessionLike | None = None
    session_asked: str | None = None  # "ticket" or "session": what the caller named, for the reason


def _deny(rule: str, reason: str, basis: str | None = None) -> Decision:
    return Decision(False, reason, rule, basis)


def _consent(rule: PurposeRule, ctx: GateContext) -> Decision | None:
    state = ctx.consents.get(rule.name)
    if state is not None and state.valid:
        return None
    detail = state.reason if state is not None else ""
    if "withdr" in detail.lower():
        return _deny(
            "consent.withdrawn",
            f"consent withdrawn: the subject withdrew consent to {rule.name} (GDPR Art. 7(3))",
            rule.legal_basis,
        )
    suffix = f" ({detail})" if detail and not detail.startswith("no consent") else ""
    return _deny(
        "consent.missing",
        f"no consent: the subject has not given consent to {rule.name} under the current policy"
        f"{suffix} (GDPR Art. 6(1)(a), 7(1))",
        rule.legal_basis,
    )


def _contract(rule: PurposeRule, tenant: Tenant, at: datetime) -> Decision | None:
    agreement = tenant.agreement
    if agreement is None:
        return _deny(
            "contract.no_agreement",
            f"no agreement: tenant {tenant.id} has no service and support agreement, which "
            f"{rule.name} relies on (GDPR Art. 6(1)(b))",
            rule.legal_basis,
        )
    if agreement.in_force(at):
        return None
    if at < agreement.valid_from:
        return _deny(
            "contract.agreement_not_started",
            f"agreement not yet in force: the service and support agreement {agreement.id} of "
            f"tenant {tenant.id} starts on {agreement.valid_from.date().isoformat()} "
            "(GDPR Art. 6(1)(b))",
            rule.legal_basis,
        )
    ended = agreement.valid_to.date().isoformat() if agreement.valid_to else "?"
    return _deny(
        "contract.agreement_expired",
        f"agreement expired: the service and support agreement {agreement.id} of tenant "
        f"{tenant.id} ended on {ended}; {rule.name} has no legal basis (GDPR Art. 6(1)(b))",
        rule.legal_basis,
    )


def _basis(rule: PurposeRule, tenant: Tenant, at: datetime, ctx: GateContext) -> Decision | None:
    if rule.basis_problem:
        return _deny("basis.undocumented", rule.basis_problem, rule.legal_basis)
    if rule.legal_basis == "consent":
        return _consent(rule, ctx)
    if rule.legal_basis == "contract":
        return _contract(rule, tenant, at)
    if rule.legal_basis == "legitimate_interest" and rule.name in ctx.objections:
        return _deny(
            "objection",
            f"objection: the subject objected to {rule.name} (GDPR Art. 21(1))",
            rule.legal_basis,
        )
    return None


def support_actor(engineer: str) -> str:
    """The actor name of a support engineer: reads in a session must be made as this actor."""
    return f"support:{engineer}"


def _session(
    rule: PurposeRule, actor: str, subject_id: str | None, at: datetime, ctx: GateContext
) -> Decision | None:
    session = ctx.session
    if session is None:
        # The ticket itself is free text: the reason (audited) names only what kind was given.
        asked = f" for the {ctx.session_asked} given" if ctx.session_asked else " (give the ticket)"
        return _deny(
            "session.missing",
            f"no support session: {rule.name} is only possible inside a support session; "
            f"none is open{asked}",
            rule.legal_basis,
        )
    if session.closed_at is not None and session.closed_at <= at:
        return _deny(
            "session.closed",
            f"support session closed: session {session.session_id} was closed at "
            f"{session.closed_at.isoformat(timespec='seconds')}",
            rule.legal_basis,
        )
    if at >= session.expires_at:
        return _deny(
            "session.expired",
            f"support session expired: session {session.session_id} expired at "
            f"{session.expires_at.isoformat(timespec='seconds')}",
            rule.legal_basis,
        )
    if at < session.opened_at:
        return _deny("session.missing", "no support session: not yet open", rule.legal_basis)
    if actor != support_actor(session.engineer):
        # A session is the engineer's own, time-boxed permission, not the ticket's (Art. 29, 32(4)).
        return _deny(
            "session.other_engineer",
            "support session belongs to another engineer: read as "
            f"{support_actor('<engineer>')} of session {session.session_id}",
            rule.legal_basis,
        )
    if subject_id not in session.subjects:
        # The tenant instructed diagnosis of its ticket's subjects, not of everyone (Art. 28(3)(a)).
        return _deny(
            "session.other_subject",
            f"subject not in support session: session {session.session_id} covers only the "
            "subjects named for its ticket (GDPR Art. 5(1)(c), Art. 28(3)(a))",
            rule.legal_basis,
        )
    return None


def _categories(
    rule: PurposeRule, tenant: Tenant, asked: Iterable[str] | None
) -> Decision | frozenset[str]:
    """The categories allowed: those asked (None or empty: all usable), if the purpose may use them
    and the tenant collects them."""
    wanted = frozenset(asked or ())
    outside = wanted - rule.categories
    if outside:
        return _deny(
            "category.not_in_purpose",
            f"category not in purpose: {rule.name} may not use {', '.join(sorted(outside))} "
            "(GDPR Art. 5(1)(b))",
            rule.legal_basis,
        )
    missing = wanted.difference(tenant.collect) if wanted else None
    usable = wanted or rule.categories.intersection(tenant.collect)
    if missing or not usable:
        names = ", ".join(sorted(missing or rule.categories)) or "any category"
        return _deny(
            "category.not_collected",
            f"category not collected: tenant {tenant.id} does not collect {names}",
            rule.legal_basis,
        )
    return usable


def _output_mismatch(purpose: str, rule: PurposeRule, asked: str) -> Decision:
    """A purpose yields one kind of output only (Art. 5(1)(b)): say which, for what was asked."""
    if rule.output == STATISTICS:
        rule_name = "output.statistics_only"
        reason = (
            f"statistics only: {purpose} may produce anonymous statistics only "
            "(callvault stats), never records of a subject"
        )
    elif rule.output == BILLING:
        # The bookkeeping law obliges keeping billing records, not reading call histories (Art. 6(3)).
        rule_name = "output.billing_only"
        reason = (
            f"{purpose} data is readable only as billing records "
            "(callvault.processing.billing.read_billing), never as a subject's call records"
        )
    else:
        rule_name = "output.records_only"
        kind = "statistics" if asked == STATISTICS else "billing"
        reason = f"{purpose} is not a {kind} purpose"
    return _deny(rule_name, reason, rule.legal_basis)


def decide(
    actor: str,
    tenant: Tenant,
    subject_id: str | None,
    purpose: str,
    categories: Iterable[str] | None,
    at: datetime,
    *,
    ctx: GateContext,
    output: str = RECORDS,
) -> Decision:
    """May ``actor`` process ``categories`` (None: all the purpose may use) of the subject?

    ``subject_id`` is None for tenant-wide anonymous statistics (``output=anonymous_statistics``).
    """
    rule = ctx.rules.get(purpose)
    if rule is None:
        known = ", ".join(sorted(ctx.rules))
        # Not quoted: the asked text is raw input and the reason is audited.
        return _deny("purpose.unknown", f"unknown purpose: the policy has {known}")
    if ctx.restricted and subject_id is not None:
        return _deny(
            "restriction",
            "subject restricted: the subject has restricted processing of their data "
            "(GDPR Art. 18); no purpose may read it",
            rule.legal_basis,
        )
    if rule.output != output:
        return _output_mismatch(purpose, rule, output)
    problem = _basis(rule, tenant, at, ctx)
    if problem is None and rule.access == SUPPORT_SESSION:
        problem = _session(rule, actor, subject_id, at, ctx)
    if problem is not None:
        return problem
    # Steps 6-7 depend only on the rule, the tenant's profile, the categories asked and the output:
    # their (immutable) decision is remembered, as the same questions repeat across a read.
    key = (tenant.id, tenant.collect, frozenset(categories) if categories else None, output)
    finished = rule.finished
    decided = finished.get(key)
    if decided is None:
        if len(finished) >= _FINISHED_MAX:
            finished.clear()
        decided = finished[key] = _finish(rule, tenant, categories, output)
    return decided


_FINISHED_MAX = 4096  # per rule: tenants x category choices actually asked


def _finish(
    rule: PurposeRule, tenant: Tenant, categories: Iterable[str] | None, output: str
) -> Decision:
    """Steps 6 and 7: the categories allowed, and the pseudonym key's session."""
    allowed = _categories(rule, tenant, categories)
    if isinstance(allowed, Decision):
        return allowed
    if output == RECORDS and rule.pseudonymise & allowed and rule.access != SUPPORT_SESSION:
        return _deny(
            "session.pseudonym_key",
            f"no support session: {rule.name} pseudonymises its output and its tokens are keyed "
            "per support session (GDPR Art. 4(5)); a tenant-wide key would link them",
            rule.legal_basis,
        )
    return Decision(True, "allowed", rule.allow_rule, rule.legal_basis, allowed)
