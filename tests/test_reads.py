"""Purpose-bound reads on both databases: each purpose's allowed read and each denial reason."""

from datetime import UTC, datetime, timedelta

import pytest

from callvault.audit import entries
from callvault.consent import give_consent, withdraw_consent
from callvault.errors import NotFound, PolicyRefusal
from callvault.reads import read_subject
from callvault.restrictions import restrict
from callvault.support import close_session, open_session
from clihelp import run_cli
from factories import make_call, make_external, make_tenant, make_user

CLEAR_VALUES = ["Alice", "alice@acme.dk", "4522334455", "4540404040", "Bob", "4522334466"]


@pytest.fixture
def acme(vault):
    make_tenant(vault)
    alice = make_user(vault)
    bob = make_user(
        vault, name="Bob Berg", email="bob@acme.dk", phone="+4522334466", extension="202"
    )
    caller = make_external(vault)
    for _ in range(3):
        make_call(vault, caller_id=caller, callee_id=alice)
    make_call(vault, caller_id=alice, callee_id=bob, direction="internal")
    return {"alice": alice, "bob": bob, "caller": caller}


def _consent(vault, subject_id):
    give_consent(vault, "acme", subject_id, "personalisation", actor=f"subject:{subject_id}")


def _refusal(vault, purpose, *, subject="alice@acme.dk", **kwargs):
    with pytest.raises(PolicyRefusal) as caught:
        read_subject(vault, "acme", subject, purpose, "app", **kwargs)
    return caught.value.message


def test_personalisation_with_consent(vault, acme):
    _consent(vault, acme["alice"])
    data = read_subject(vault, "acme", "alice@acme.dk", "personalisation", "app")
    assert data["profile"]["name"] == ["Alice Andersen"]
    assert data["profile"]["email"] == ["alice@acme.dk"]
    assert len(data["calls"]) == 4
    assert data["frequent_contacts"][0] == {"other_party": "+4540404040", "calls": 3}
    assert data["legal_basis"] == "consent" and data["pseudonymised"] == []


def test_no_consent_and_withdrawn_consent(vault, acme):
    assert _refusal(vault, "personalisation").startswith("no consent")
    _consent(vault, acme["alice"])
    withdraw_consent(
        vault, "acme", acme["alice"], "personalisation", actor=f"subject:{acme['alice']}"
    )
    assert _refusal(vault, "personalisation").startswith("consent withdrawn")


def test_only_collected_categories(vault):
    make_tenant(vault, collect=["phone", "call_history"])
    alice = make_user(vault)
    _consent(vault, alice)
    data = read_subject(vault, "acme", alice, "personalisation", "app")
    assert set(data["categories"]) == {"user.contact.phone_number", "user.behavior.call_history"}
    assert "name" not in data["profile"] and "email" not in data["profile"]
    assert "voicemails" not in data


def test_error_diagnosis_pseudonymised_per_session(vault, acme):
    first = open_session(vault, "acme", ticket="T-1", engineer="eve", hours=2)
    one = read_subject(vault, "acme", "alice@acme.dk", "error_diagnosis", "eve", ticket="T-1")
    again = read_subject(vault, "acme", "alice@acme.dk", "error_diagnosis", "eve", ticket="T-1")
    text = str(one)
    for value in CLEAR_VALUES:
        assert value not in text, value
    assert acme["alice"] not in text
    assert one["profile"]["extension"][0].startswith("ext-")  # not "201"
    assert one["calls"][0]["other_party"].startswith("tel-")
    assert one["calls"] == again["calls"]  # stable within the session
    close_session(vault, "acme", first.session_id)
    assert _refusal(vault, "error_diagnosis", ticket="T-1").startswith("support session closed")
    open_session(vault, "acme", ticket="T-2", engineer="eve", hours=2)
    other = read_subject(vault, "acme", "alice@acme.dk", "error_diagnosis", "eve", ticket="T-2")
    assert other["calls"][0]["other_party"] != one["calls"][0]["other_party"]
    assert other["profile"]["name"] != one["profile"]["name"]
    assert other["subject"] != one["subject"]


def test_error_diagnosis_denials(vault, acme):
    assert _refusal(vault, "error_diagnosis").startswith("no support session")
    assert _refusal(vault, "error_diagnosis", ticket="T-9").startswith("no support session")
    past = datetime.now(UTC) - timedelta(hours=3)
    open_session(vault, "acme", ticket="T-1", engineer="eve", hours=1, at=past)
    assert _refusal(vault, "error_diagnosis", ticket="T-1").startswith("support session expired")


def test_agreement_expired(vault):
    make_tenant(vault, agreement=("SSA-1", "2025-01-01", "2026-01-01"))
    make_user(vault)
    before_end = datetime(2025, 12, 31, 20, tzinfo=UTC)
    session = open_session(vault, "acme", ticket="T-1", engineer="eve", hours=100, at=before_end)
    assert session.expires_at == datetime(2026, 1, 1, tzinfo=UTC)  # never outlives the agreement
    assert _refusal(vault, "error_diagnosis", ticket="T-1").startswith("agreement expired")
    with pytest.raises(PolicyRefusal):
        open_session(vault, "acme", ticket="T-2", engineer="eve", hours=1)


def test_no_agreement(vault):
    make_tenant(vault, agreement=None)
    make_user(vault)
    assert _refusal(vault, "error_diagnosis", ticket="T-1").startswith("no agreement")


def test_restricted_subject_readable_by_no_purpose(vault, acme):
    _consent(vault, acme["alice"])
    restrict(vault, "acme", "alice@acme.dk")
    assert _refusal(vault, "personalisation").startswith("subject restricted")
    restrict(vault, "acme", "alice@acme.dk", lift=True)
    assert read_subject(vault, "acme", "alice@acme.dk", "personalisation", "app")["calls"]


def test_statistics_purpose_and_unknown_purpose(vault, acme):
    assert _refusal(vault, "customer_service").startswith("statistics only")
    assert _refusal(vault, "marketing").startswith("unknown purpose")


def test_subject_of_another_tenant_is_not_found(vault, acme):
    make_tenant(vault, "globex")
    with pytest.raises(NotFound):
        read_subject(vault, "globex", acme["alice"], "personalisation", "app")


def test_every_decision_is_audited(vault, acme):
    _refusal(vault, "personalisation")
    _consent(vault, acme["alice"])
    read_subject(vault, "acme", "alice@acme.dk", "personalisation", "app")
    with vault.engine.connect() as conn:
        reads = list(entries(conn, "acme", action="read"))
    assert [r["outcome"] for r in reads] == ["allow", "deny"]
    assert reads[0]["actor"] == "app" and reads[0]["legal_basis"] == "consent"
    assert "user.name" in reads[0]["categories"] and reads[0]["details"]["calls"] == 4
    assert reads[1]["reason"].startswith("no consent")
    assert "alice" not in str(reads).lower()


def test_cli_read_and_exit_codes(vault, acme, cli_env, capsys):
    args = ["read", "--tenant", "acme", "--subject", "alice@acme.dk", "--actor", "app"]
    denied = run_cli(capsys, *args, "--purpose", "personalisation")
    assert denied.code == 3 and "no consent" in denied.err
    opened = run_cli(
        capsys,
        "support",
        "open",
        "--tenant",
        "acme",
        "--ticket",
        "T-1",
        "--engineer",
        "eve",
        "--hours",
        "2",
    )
    assert opened.code == 0, opened.err
    result = run_cli(capsys, *args, "--purpose", "error_diagnosis", "--ticket", "T-1", "--json")
    assert result.code == 0, result.err
    assert "4540404040" not in result.out and len(result.json()["calls"]) == 4
    closed = run_cli(
        capsys, "support", "close", "--tenant", "acme", "--session", opened.out.strip()
    )
    assert closed.code == 0, closed.err
    assert run_cli(capsys, *args, "--purpose", "error_diagnosis", "--ticket", "T-1").code == 3
    make_tenant(vault, "globex")
    other = ["read", "--tenant", "globex", "--subject", acme["alice"], "--actor", "app"]
    assert run_cli(capsys, *other, "--purpose", "personalisation").code == 4
