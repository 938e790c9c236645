"""Purpose-bound reads on both databases: each purpose's allowed read and each denial reason."""

from datetime import UTC, datetime, timedelta

import pytest

from callvault.accountability.audit import entries
from callvault.consent.acts import give_consent, withdraw_consent
from callvault.errors import NotFound, PolicyRefusal
from callvault.processing.reads import read_subject
from callvault.processing.support import close_session, open_session
from callvault.rights.restriction import restrict
from clihelp import run_cli
from factories import make_call, make_external, make_tenant, make_user

EVE = "support:eve"  # the actor of engineer eve's support sessions
SCOPE = {"approved_by": "tenant-admin:hr", "subjects": ["alice@acme.dk"]}  # the ticket's subject
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
    # The caller never consented: a stable contact token, never the number (finding 6).
    token = data["frequent_contacts"][0]["other_party"]
    assert token.startswith("contact-") and data["frequent_contacts"][0]["calls"] == 3
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
    first = open_session(vault, "acme", ticket="T-1", engineer="eve", hours=2, **SCOPE)
    one = read_subject(vault, "acme", "alice@acme.dk", "error_diagnosis", EVE, ticket="T-1")
    again = read_subject(vault, "acme", "alice@acme.dk", "error_diagnosis", EVE, ticket="T-1")
    text = str(one)
    for value in CLEAR_VALUES:
        assert value not in text, value
    assert acme["alice"] not in text
    assert one["profile"]["extension"][0].startswith("ext-")  # not "201"
    assert one["calls"][0]["other_party"].startswith("tel-")
    assert one["calls"] == again["calls"]  # stable within the session
    close_session(vault, "acme", first.session_id)
    assert _refusal(vault, "error_diagnosis", ticket="T-1").startswith("support session closed")
    open_session(vault, "acme", ticket="T-2", engineer="eve", hours=2, **SCOPE)
    other = read_subject(vault, "acme", "alice@acme.dk", "error_diagnosis", EVE, ticket="T-2")
    assert other["calls"][0]["other_party"] != one["calls"][0]["other_party"]
    assert other["profile"]["name"] != one["profile"]["name"]
    assert other["subject"] != one["subject"]


def test_error_diagnosis_denials(vault, acme):
    assert _refusal(vault, "error_diagnosis").startswith("no support session")
    assert _refusal(vault, "error_diagnosis", ticket="T-9").startswith("no support session")
    past = datetime.now(UTC) - timedelta(hours=3)
    open_session(vault, "acme", ticket="T-1", engineer="eve", hours=1, at=past, **SCOPE)
    assert _refusal(vault, "error_diagnosis", ticket="T-1").startswith("support session expired")


def test_agreement_expired(vault):
    make_tenant(vault, agreement=("SSA-1", "2025-01-01", "2026-01-01"))
    make_user(vault)
    before_end = datetime(2025, 12, 31, 20, tzinfo=UTC)
    session = open_session(
        vault, "acme", ticket="T-1", engineer="eve", hours=100, at=before_end, **SCOPE
    )
    assert session.expires_at == datetime(2026, 1, 1, tzinfo=UTC)  # never outlives the agreement
    assert _refusal(vault, "error_diagnosis", ticket="T-1").startswith("agreement expired")
    with pytest.raises(PolicyRefusal):
        open_session(vault, "acme", ticket="T-2", engineer="eve", hours=1, **SCOPE)


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
        "--approved-by",
        "tenant-admin:hr",
        "--subject",
        "alice@acme.dk",
    )
    assert opened.code == 0, opened.err
    diagnose = [*args[:-1], EVE, "--purpose", "error_diagnosis", "--ticket", "T-1"]
    result = run_cli(capsys, *diagnose, "--json")
    assert result.code == 0, result.err
    assert "4540404040" not in result.out and len(result.json()["calls"]) == 4
    closed = run_cli(
        capsys, "support", "close", "--tenant", "acme", "--session", opened.out.strip()
    )
    assert closed.code == 0, closed.err
    assert run_cli(capsys, *diagnose).code == 3
    make_tenant(vault, "globex")
    other = ["read", "--tenant", "globex", "--subject", acme["alice"], "--actor", "app"]
    assert run_cli(capsys, *other, "--purpose", "personalisation").code == 4


def test_bookkeeping_is_never_a_record_read(vault, acme):
    """Finding 1: the bookkeeping legal hold does not open anyone's call history."""
    reason = _refusal(vault, "bookkeeping")
    assert reason.startswith("bookkeeping data is readable only as billing records")
    with vault.engine.connect() as conn:
        (entry,) = entries(conn, "acme", action="read")
    assert entry["outcome"] == "deny" and entry["details"]["rule"] == "output.billing_only"


def test_support_session_belongs_to_its_engineer(vault, acme, cli_env, capsys):
    """Finding 5: the right ticket is not enough; the actor must be support:<engineer>."""
    open_session(vault, "acme", ticket="T-1", engineer="eng-joe", hours=2, **SCOPE)
    read = ["read", "--tenant", "acme", "--subject", "alice@acme.dk", "--purpose"]
    for actor in ("random-service", "eng-joe", "support:eve"):
        denied = run_cli(capsys, *read, "error_diagnosis", "--actor", actor, "--ticket", "T-1")
        assert denied.code == 3 and "support session belongs to another engineer" in denied.err
    ok = run_cli(capsys, *read, "error_diagnosis", "--actor", "support:eng-joe", "--ticket", "T-1")
    assert ok.code == 0, ok.err


def test_personalisation_shows_colleagues_by_name_and_callers_as_tokens(vault, acme):
    """Finding 6: the other party did not consent; its number never appears in clear."""
    _consent(vault, acme["alice"])
    first = read_subject(vault, "acme", "alice@acme.dk", "personalisation", "app")
    parties = [call["other_party"] for call in first["calls"]]
    assert parties[-1] == "Bob Berg"  # a colleague: the directory name
    assert len(set(parties[:3])) == 1 and parties[0].startswith("contact-")
    assert "4540404040" not in str(first) and "4522334466" not in str(first)
    again = read_subject(vault, "acme", "alice@acme.dk", "personalisation", "app")
    assert again["frequent_contacts"] == first["frequent_contacts"]  # stable per party


def test_pseudonymising_purpose_without_a_session_is_denied(vault, master_key):
    """Finding 8: no tenant-wide fallback key; a pseudonymising purpose needs a session."""
    from callvault.policy import CompiledPolicy, default_policy
    from callvault.vault import Vault

    data = default_policy().model_dump()
    data["purposes"]["error_diagnosis"]["access"] = "direct"
    direct = Vault.open(
        vault.engine.url.render_as_string(False),
        master_key=master_key,
        policy=type(default_policy()).model_validate(data),
    )
    assert isinstance(direct.policy, CompiledPolicy)
    make_tenant(direct)
    make_user(direct)
    with pytest.raises(PolicyRefusal, match="no support session"):
        read_subject(direct, "acme", "alice@acme.dk", "error_diagnosis", "service:diag")
    direct.close()
