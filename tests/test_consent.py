"""Consent: only from an explicit act, withdrawable at the next decision, bound to the purpose text."""

import contextlib
import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from callvault.consent import acts
from callvault.consent.acts import consent_state, give_consent, refuse_consent, withdraw_consent
from callvault.consent.expiry import expire_consents
from callvault.errors import NotFound, PolicyRefusal
from callvault.policy import CompiledPolicy, default_policy
from callvault.store.schema.consent import consent_events, consent_records
from callvault.tenants import list_tenants
from callvault.vault import Vault
from factories import make_call, make_external, make_tenant, make_user

AT = datetime(2026, 11, 5, 12, tzinfo=UTC)
_PEOPLE = itertools.count(1)


def _state(vault, subject_id, purpose="personalisation", at=AT, policy=None):
    policy = policy or vault.policy
    with vault.engine.connect() as conn:
        return consent_state(conn, "acme", subject_id, policy.purposes[purpose], policy.version, at)


def _count(vault, table):
    with vault.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table))


def test_no_consent_without_an_explicit_act(vault):
    make_tenant(vault)
    alice = make_user(vault)
    make_call(vault, caller_id=make_external(vault), callee_id=alice)
    state = _state(vault, alice)
    assert not state.valid and state.reason == "no consent for personalisation"
    assert _count(vault, consent_records) == 0


def test_give_then_withdraw_denies_the_next_check(vault):
    make_tenant(vault)
    alice = make_user(vault)
    record = give_consent(
        vault, "acme", "alice@acme.dk", "personalisation", actor=f"subject:{alice}", at=AT
    )
    assert record.subject_id == alice and record.state == "given"
    assert _state(vault, alice).valid
    withdraw_consent(
        vault,
        "acme",
        alice,
        "personalisation",
        actor=f"subject:{alice}",
        at=AT + timedelta(hours=1),
    )
    state = _state(vault, alice, at=AT + timedelta(hours=1))
    assert not state.valid and state.reason == "consent withdrawn on 2026-11-05"
    assert _state(vault, alice, at=AT + timedelta(minutes=30)).valid  # before the withdrawal
    assert _count(vault, consent_events) == 2  # the history stays


def test_policy_change_invalidates_changed_purposes_only(vault):
    policy = default_policy()
    data = policy.model_dump()
    data["version"] = "2027-01-01"
    data["purposes"]["personalisation"]["text"] = "Personalisation, now with call transcripts."
    newer = CompiledPolicy.compile(type(policy).model_validate(data))
    make_tenant(vault)
    alice = make_user(vault)
    give_consent(vault, "acme", alice, "personalisation", actor=f"subject:{alice}", at=AT)
    assert _state(vault, alice, policy=vault.policy).valid
    state = _state(vault, alice, policy=newer)
    assert not state.valid and state.reason == "consent predates policy version 2027-01-01"
    unchanged = policy.model_dump()
    unchanged["version"] = "2027-02-01"
    unchanged["k_anonymity"] = 10
    assert _state(
        vault, alice, policy=CompiledPolicy.compile(type(policy).model_validate(unchanged))
    ).valid


def test_nobody_consents_for_another_subject(vault):
    make_tenant(vault)
    alice = make_user(vault)
    bob = make_user(vault, name="Bob", email="bob@acme.dk", phone="+4522334466", extension="202")
    caller = make_external(vault)
    with pytest.raises(PolicyRefusal):
        give_consent(vault, "acme", bob, "personalisation", actor=f"subject:{alice}")
    with pytest.raises(PolicyRefusal):
        give_consent(vault, "acme", caller, "personalisation", actor="tenant-admin:carol")
    give_consent(vault, "acme", caller, "personalisation", actor=f"subject:{caller}")
    assert _count(vault, consent_records) == 1


def test_consent_for_a_non_consent_purpose_is_refused(vault):
    make_tenant(vault)
    alice = make_user(vault)
    with pytest.raises(PolicyRefusal, match="contract"):
        give_consent(vault, "acme", alice, "error_diagnosis", actor=f"subject:{alice}")
    assert _count(vault, consent_records) == 0


def test_consent_with_a_lifetime_expires(vault, master_key):
    data = default_policy().model_dump()
    data["consent"]["valid_for"] = "P1Y"
    lifetime = Vault.open(
        vault.engine.url.render_as_string(False),
        master_key=master_key,
        policy=type(default_policy()).model_validate(data),
    )
    make_tenant(lifetime)
    alice = make_user(lifetime)
    record = give_consent(
        lifetime, "acme", alice, "personalisation", actor=f"subject:{alice}", at=AT
    )
    assert _state(lifetime, alice, at=AT + timedelta(days=364)).valid
    state = _state(lifetime, alice, at=AT + timedelta(days=366))
    assert not state.valid and state.reason == "consent expired on 2027-11-05"
    assert expire_consents(lifetime, AT + timedelta(days=366)) == {"acme": 1}
    assert expire_consents(lifetime, AT + timedelta(days=367)) == {}
    with lifetime.engine.connect() as conn:
        events = conn.scalars(
            select(consent_events.c.event)
            .where(consent_events.c.record_id == record.record_id)
            .order_by(consent_events.c.seq)
        ).all()
    assert events == ["given", "expired"]
    lifetime.close()


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(acts=st.lists(st.sampled_from(["give", "withdraw", "refuse"]), min_size=1, max_size=6))
def test_the_newest_explicit_act_decides(vault, acts):
    """Whatever the sequence of acts, consent is valid exactly when the newest act was a give."""
    with vault.engine.connect() as conn:
        if not list_tenants(conn):
            make_tenant(vault)
    n = next(_PEOPLE)
    subject = make_user(vault, email=f"u{n}@acme.dk", phone=f"+4526{n:06d}", extension=f"9{n}")
    valid = False
    for step, act in enumerate(acts):
        at = AT + timedelta(minutes=step)
        kwargs = {"actor": f"subject:{subject}", "at": at}
        if act == "give":
            give_consent(vault, "acme", subject, "personalisation", **kwargs)
            valid = True
        elif act == "refuse":
            refuse_consent(vault, "acme", subject, "personalisation", **kwargs)
            valid = False
        else:
            try:
                withdraw_consent(vault, "acme", subject, "personalisation", **kwargs)
            except NotFound:
                assert not valid
            valid = False
        assert _state(vault, subject, at=at).valid is valid


def test_a_refused_consent_act_is_audited(vault):
    """Issue 11: a refusal (exit 3) leaves an audit entry, like every decision."""
    from callvault.accountability.audit import audit_entries

    make_tenant(vault)
    alice = make_user(vault)
    with pytest.raises(PolicyRefusal):
        give_consent(vault, "acme", alice, "personalisation", actor="tenant-admin:carol")
    (entry,) = audit_entries(vault, "acme", action="consent.give")
    assert entry["outcome"] == "deny" and entry["actor"] == "tenant-admin:carol"
    assert entry["subject_id"] == alice and "data subject" in entry["reason"]
    assert _count(vault, consent_records) == 0


def test_expiry_works_in_bounded_batches(vault, master_key, monkeypatch):
    from callvault.consent import expiry

    monkeypatch.setattr(expiry, "_BATCH", 2)
    data = default_policy().model_dump()
    data["consent"]["valid_for"] = "P1Y"
    lifetime = Vault.open(vault.engine.url.render_as_string(False), master_key=master_key,
                          policy=type(default_policy()).model_validate(data))  # fmt: skip
    make_tenant(lifetime)
    for n in range(5):
        person = make_user(lifetime, email=f"e{n}@acme.dk", phone=f"+452233{n:04d}",
                           extension=f"7{n}")  # fmt: skip
        give_consent(lifetime, "acme", person, "personalisation", actor=f"subject:{person}", at=AT)
    assert expire_consents(lifetime, AT + timedelta(days=400)) == {"acme": 5}
    from callvault.accountability.audit import audit_entries

    batches = audit_entries(lifetime, "acme", action="consent.expire")
    assert sorted(e["details"]["records"] for e in batches) == [1, 2, 2]
    lifetime.close()


def test_two_concurrent_gives_record_one_consent(vault, monkeypatch):
    """Two gives of the same consent at once (a double click, two tabs) record it once: the second
    reads the first's record, on PostgreSQL too (there both would otherwise read "no consent"
    before either committed, READ COMMITTED, and both record it)."""
    make_tenant(vault)
    alice = make_user(vault)
    # Each act waits, after reading the subject's state, for the other to have read it too (or
    # for 2 s, when the other cannot read before this one commits).
    both_read = threading.Barrier(2, timeout=2)
    checked = acts._actor

    def after_reading(*args, **kwargs):  # type: ignore[no-untyped-def]
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()
        return checked(*args, **kwargs)

    monkeypatch.setattr(acts, "_actor", after_reading)

    def give() -> None:
        give_consent(vault, "acme", alice, "personalisation", actor=f"subject:{alice}", at=AT)

    threads = [threading.Thread(target=give) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert _count(vault, consent_records) == 1
    assert _state(vault, alice).valid
