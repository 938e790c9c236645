"""The gate's invariants over generated policies, profiles and requests (hypothesis).

A denied decision never carries categories (and a denied read never returns data); an allowed one never
carries a category outside the purpose or outside the tenant's profile.
"""

import dataclasses
import itertools
import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from callvault.consent.acts import give_consent
from callvault.errors import PolicyRefusal
from callvault.policy import CompiledPolicy, Policy
from callvault.processing.gate import GateContext, compile_rules, decide
from callvault.processing.reads import FIELD_CATEGORIES, read_subject
from callvault.processing.support import SupportSession, open_session
from callvault.rights.recipients import decide_disclosure
from callvault.store.schema.core import voicemails
from callvault.subjects.directory import new_id
from callvault.tenants import Agreement, Tenant, add_tenant
from factories import make_call, make_external, make_user

CATEGORIES = [
    "user.name",
    "user.contact.email",
    "user.contact.phone_number",
    "user.contact.organization",
    "user.behavior.call_history",
    "user.content.private.voicemail",
]
BASES = ["consent", "contract", "legal_obligation", "legitimate_interest", "vital_interest"]
AT = datetime(2026, 11, 10, 12, tzinfo=UTC)


@dataclasses.dataclass(frozen=True)
class State:
    valid: bool
    reason: str


subsets = st.frozensets(st.sampled_from(CATEGORIES))


@st.composite
def purposes(draw):
    categories = draw(subsets)
    return {
        "text": "a purpose",
        "legal_basis": draw(st.sampled_from(BASES)),
        "categories": sorted(categories),
        "pseudonymise": sorted(
            draw(st.frozensets(st.sampled_from(sorted(categories) or ["x"]))) & categories
        ),
        "access": draw(st.sampled_from(["direct", "direct", "support_session"])),
        "output": draw(
            st.sampled_from(["records", "records", "anonymous_statistics", "billing_records"])
        ),
        "legitimate_interest_assessment": draw(st.sampled_from([None, "LIA-1", "LIA-1"])),
        "legal_obligation": draw(st.sampled_from([None, "Act", "Act"])),
    }


@st.composite
def policies(draw):
    names = draw(st.lists(st.sampled_from(["p0", "p1", "p2"]), min_size=1, max_size=3, unique=True))
    document = {
        "version": "v1",
        "operator": {"name": "Op"},
        "categories": {key: {"identifying": "direct"} for key in CATEGORIES},
        "purposes": {name: draw(purposes()) for name in names},
        "recipients": ["subject", "controller"],
        "retention": {},
    }
    return CompiledPolicy.compile(Policy.model_validate(document))


agreements = st.sampled_from(
    [
        None,
        Agreement("A", AT - timedelta(days=30), None),
        Agreement("A", AT - timedelta(days=30), AT - timedelta(days=1)),
        Agreement("A", AT + timedelta(days=1), None),
    ]
)
sessions = st.sampled_from(
    [
        None,
        SupportSession(
            "t",
            "s1",
            "T",
            "eve",
            AT - timedelta(hours=1),
            AT + timedelta(hours=1),
            None,
            "tenant-admin:hr",
            frozenset({"s"}),
        ),
        SupportSession(
            "t",
            "s4",
            "T",
            "eve",
            AT - timedelta(hours=1),
            AT + timedelta(hours=1),
            None,
            "tenant-admin:hr",
            frozenset({"other"}),
        ),
        SupportSession(
            "t", "s2", "T", "eve", AT - timedelta(hours=3), AT - timedelta(hours=1), None
        ),
        SupportSession("t", "s3", "T", "eve", AT - timedelta(hours=1), AT + timedelta(hours=1), AT),
    ]
)
consents = st.sampled_from(
    [State(True, "consent given"), State(False, "no consent"), State(False, "consent withdrawn")]
)


@settings(max_examples=400, deadline=None)
@given(
    policy=policies(),
    collect=subsets,
    agreement=agreements,
    session=sessions,
    consent=st.dictionaries(st.sampled_from(["p0", "p1", "p2"]), consents),
    restricted=st.booleans(),
    objections=st.frozensets(st.sampled_from(["p0", "p1", "p2"])),
    purpose=st.sampled_from(["p0", "p1", "p2", "unknown"]),
    asked=st.none() | subsets,
    output=st.sampled_from(["records", "anonymous_statistics"]),
    subject=st.sampled_from(["s", None]),
)
def test_decisions_never_exceed_purpose_and_profile(
    policy,
    collect,
    agreement,
    session,
    consent,
    restricted,
    objections,
    purpose,
    asked,
    output,
    subject,
):
    tenant = Tenant("t", "T", tuple(sorted(collect)), agreement)
    ctx = GateContext(compile_rules(policy), consent, restricted, objections, session)
    decision = decide("support:eve", tenant, subject, purpose, asked, AT, ctx=ctx, output=output)
    assert decision.reason and decision.rule
    if not decision.allowed:
        assert decision.categories == frozenset()
        return
    rule = policy.purposes[purpose]
    assert decision.categories and decision.categories <= rule.categories & collect
    assert not (restricted and subject)
    assert rule.output == output
    if rule.legal_basis == "consent":
        assert consent[purpose].valid
    if rule.legal_basis == "contract":
        assert agreement is not None and agreement.in_force(AT)
    if rule.legal_basis == "legitimate_interest":
        assert purpose not in objections
    assert rule.legal_basis not in ("vital_interest",)
    if rule.access == "support_session":
        assert session is not None and session.open_at(AT)
        assert subject in session.subjects  # the ticket's subjects only (issue 12.7)
    if output == "records" and rule.pseudonymise & decision.categories:
        assert rule.access == "support_session"  # never pseudonymised without a session key
    assert rule.output != "billing_records"


@given(
    recipient=st.text(max_size=30),
    actor=st.sampled_from(["subject:s1", "subject:s2", "operator", "tenant-admin:hr", "service:x"]),
)
def test_disclosure_only_to_subject_or_controller(recipient, actor):
    policy = CompiledPolicy.compile(
        Policy.model_validate(
            {
                "version": "1",
                "operator": {"name": "Op"},
                "categories": {},
                "purposes": {},
                "recipients": ["subject", "controller"],
                "retention": {},
            }
        )
    )
    decision = decide_disclosure(
        policy, Tenant("t", "T", (), None), recipient, actor=actor, subject_id="s1"
    )
    if decision.allowed:
        assert recipient.strip() in ("subject", "controller", "controller:t")
        # The recipient is the actor: the subject itself, or the tenant's admin (issue 12.1).
        assert actor == ("subject:s1" if recipient.strip() == "subject" else "tenant-admin:hr")


_tenant_ids = (f"t{i}" for i in itertools.count())


def _profile(vault, tenant_id, collect, agreement):
    add_tenant(
        vault,
        tenant_id,
        name="T",
        collect=sorted(collect),
        agreement_id="A" if agreement else None,
        agreement_from=AT - timedelta(days=300) if agreement else None,
    )
    alice = make_user(vault, tenant_id)
    caller = make_external(vault, tenant_id)
    make_call(vault, tenant_id, caller_id=caller, callee_id=alice)
    with vault.transaction() as conn:
        row = {
            "tenant_id": tenant_id,
            "voicemail_id": new_id(),
            "source_key": os.urandom(16),
            "mailbox_subject_id": alice,
            "caller_subject_id": caller,
            "received_at": AT,
            "duration_s": 9,
            "folder": "INBOX",
            "audio_format": "wav",
            "audio": b"sealed",
            "created_at": AT,
        }
        conn.execute(insert(voicemails), [row])
    return alice


def _fields(answer):
    """Every part of an answer that discloses a category (see reads.FIELD_CATEGORIES)."""
    found = {f"profile.{kind}" for kind in answer["profile"]}
    for part in ("calls", "frequent_contacts", "voicemails"):
        if part in answer:
            found.add(part)
            found |= {key for item in answer[part] for key in item if key in FIELD_CATEGORIES}
    return found


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    policy=policies(),
    collect=subsets,
    agreement=st.booleans(),
    session=st.booleans(),
    consent=st.booleans(),
)
def test_reads_return_nothing_when_denied_and_never_more_than_allowed(
    vault, policy, collect, agreement, session, consent
):
    assume(collect & policy.collectable)  # a tenant's profile names at least one category
    bound = dataclasses.replace(vault, policy=policy)
    tenant_id = next(_tenant_ids)
    alice = _profile(bound, tenant_id, collect & policy.collectable, agreement)
    for name, purpose in policy.purposes.items():
        if session and agreement and purpose.access == "support_session":
            open_session(bound, tenant_id, ticket=name, engineer="eve", hours=1,
                         approved_by="tenant-admin:hr", subjects=[alice])  # fmt: skip
        if consent and purpose.legal_basis == "consent":
            give_consent(bound, tenant_id, alice, name, actor=f"subject:{alice}")
        try:
            answer = read_subject(bound, tenant_id, alice, name, "support:eve", ticket=name)
        except PolicyRefusal as refusal:
            assert refusal.decision is not None and not refusal.decision.allowed
            continue
        event(f"allowed {purpose.legal_basis}")
        allowed = set(answer["categories"])
        assert allowed and allowed <= purpose.categories & collect
        assert {FIELD_CATEGORIES[field] for field in _fields(answer)} <= allowed
        if "user.name" in purpose.pseudonymise and "user.name" in allowed:
            assert "Alice" not in str(answer)


def test_decide_is_pure(vault):
    rules = compile_rules(vault.policy)
    tenant = Tenant("acme", "A", tuple(CATEGORIES), Agreement("A", AT - timedelta(days=1), None))
    ctx = GateContext(rules, {"personalisation": State(True, "given")})
    first = decide("app", tenant, "s", "personalisation", None, AT, ctx=ctx)
    assert first.allowed and first == decide(
        "app", tenant, "s", "personalisation", None, AT, ctx=ctx
    )
    assert not decide("app", tenant, "s", "customer_service", None, AT, ctx=ctx).allowed


@pytest.mark.parametrize(
    ("purpose", "output", "rule"),
    [
        ("personalisation", "billing_records", "output.records_only"),
        ("personalisation", "anonymous_statistics", "output.records_only"),
        ("customer_service", "records", "output.statistics_only"),
        ("bookkeeping", "records", "output.billing_only"),
        ("bookkeeping", "anonymous_statistics", "output.billing_only"),
    ],
)
def test_a_purpose_yields_only_its_own_kind_of_output(vault, purpose, output, rule):
    rules = compile_rules(vault.policy)
    tenant = Tenant("acme", "A", tuple(CATEGORIES), Agreement("A", AT - timedelta(days=1), None))
    ctx = GateContext(rules, {"personalisation": State(True, "given")})
    decision = decide("app", tenant, "s", purpose, None, AT, ctx=ctx, output=output)
    assert not decision.allowed and decision.rule == rule and not decision.categories
