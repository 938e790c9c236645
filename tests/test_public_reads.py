"""Nothing in ``callvault.__all__`` hands out a decrypted identifier without a gate decision (issue
12.4): the public functions that answer without a purpose show surrogate ids, counts and policy text
only; those that show identifiers refuse (exit 3) until the gate allows, and audit either way."""

import pytest

import callvault
from callvault import (
    PolicyRefusal,
    audit_entries,
    consent_receipt,
    describe_tenant,
    give_consent,
    read_subject,
    records_of_processing,
    retention_status,
    statistics,
    subject_consents,
    verify_audit,
)
from factories import make_call, make_external, make_tenant, make_user, make_voicemail

IDENTIFIERS = ["Alice Andersen", "alice@acme.dk", "4522334455", "4540404040"]


def _clear(answer: object) -> None:
    text = str(answer)
    for value in IDENTIFIERS:
        assert value not in text, value


def test_ungated_public_answers_hold_no_identifier(vault):
    make_tenant(vault)
    alice = make_user(vault)
    caller = make_external(vault)
    make_call(vault, caller_id=caller, callee_id=alice)
    make_voicemail(vault, mailbox_id=alice, caller_id=caller)
    record = give_consent(vault, "acme", alice, "personalisation")
    _clear(describe_tenant(vault, "acme"))
    _clear(subject_consents(vault, "acme", "alice@acme.dk"))
    _clear(consent_receipt(vault, "acme", record.record_id))
    _clear(records_of_processing(vault, "acme"))
    _clear(retention_status(vault))
    _clear(statistics(vault, "acme"))
    _clear(verify_audit(vault))
    _clear(audit_entries(vault, "acme", limit=1000))


def test_identifiers_only_with_an_allowed_decision(vault):
    make_tenant(vault)
    alice = make_user(vault)
    with pytest.raises(PolicyRefusal):
        read_subject(vault, "acme", alice, "personalisation", "service:app")
    give_consent(vault, "acme", alice, "personalisation")
    assert read_subject(vault, "acme", alice, "personalisation", "service:app")["profile"]
    outcomes = [e["outcome"] for e in audit_entries(vault, "acme", action="read")]
    assert sorted(outcomes) == ["allow", "deny"]


def test_audio_is_public_only_behind_the_gate():
    """The only public way to a recording is read_voicemail; the low-level opener is internal."""
    assert "read_voicemail" in callvault.__all__
    assert not any("audio" in name for name in callvault.__all__)
