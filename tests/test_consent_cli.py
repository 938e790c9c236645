"""Consent through the CLI: give, withdraw, show, receipts, refusals and their exit codes."""

from sqlalchemy import select

from callvault.accountability.audit import entries
from callvault.store.schema.consent import consent_records
from clihelp import run_cli
from factories import make_external, make_tenant, make_user

GIVE = ["consent", "give", "--tenant", "acme", "--purpose", "personalisation"]


def test_give_show_withdraw_and_receipt(vault, cli_env, capsys):
    make_tenant(vault)
    alice = make_user(vault)
    given = run_cli(capsys, *GIVE, "--subject", "alice@acme.dk", "--json")
    assert given.code == 0, given.err
    record = given.json()
    assert record["subject_id"] == alice and record["state"] == "given"
    assert record["actor"] == f"subject:{alice}"  # audited by surrogate id, not the e-mail
    shown = run_cli(capsys, "consent", "show", "--tenant", "acme", "--subject", alice, "--json")
    assert shown.json()["purposes"]["personalisation"]["valid"] is True
    withdrawn = run_cli(
        capsys,
        "consent",
        "withdraw",
        "--tenant",
        "acme",
        "--subject",
        alice,
        "--purpose",
        "personalisation",
        "--json",
    )
    assert withdrawn.code == 0 and withdrawn.json()["state"] == "withdrawn"
    shown = run_cli(capsys, "consent", "show", "--tenant", "acme", "--subject", alice, "--json")
    state = shown.json()["purposes"]["personalisation"]
    assert state["valid"] is False and state["reason"].startswith("consent withdrawn on ")
    receipt = run_cli(
        capsys, "consent", "show", "--tenant", "acme", "--receipt", record["record_id"]
    ).json()
    assert [e["event"] for e in receipt["events"]] == ["given", "withdrawn"]
    assert receipt["legal_basis"].startswith("consent") and len(receipt["notice_hash"]) == 64
    with vault.engine.connect() as conn:
        actions = [e["action"] for e in entries(conn, "acme", action=None)]
    assert "consent.give" in actions and "consent.withdraw" in actions


def test_refusals_exit_3_and_store_nothing(vault, cli_env, capsys):
    make_tenant(vault)
    alice = make_user(vault)
    bob = make_user(vault, name="Bob", email="bob@acme.dk", phone="+4522334466", extension="202")
    caller = make_external(vault)
    for_other = run_cli(capsys, *GIVE, "--subject", bob, "--actor", f"subject:{alice}")
    assert for_other.code == 3 and "on behalf of another subject" in for_other.err
    external = run_cli(capsys, *GIVE, "--subject", caller, "--actor", "tenant-admin:carol")
    assert external.code == 3 and "external caller" in external.err
    basis = run_cli(
        capsys,
        "consent",
        "give",
        "--tenant",
        "acme",
        "--subject",
        alice,
        "--purpose",
        "error_diagnosis",
    )
    assert basis.code == 3 and "contract" in basis.err
    with vault.engine.connect() as conn:
        assert conn.execute(select(consent_records)).first() is None


def test_unknown_subject_and_other_tenant_are_not_found(vault, cli_env, capsys):
    make_tenant(vault)
    make_tenant(vault, "globex")
    bob = make_user(vault, "globex", email="bob@globex.dk", phone="+4522334499")
    assert run_cli(capsys, *GIVE, "--subject", bob).code == 4
    assert run_cli(capsys, *GIVE, "--subject", "nobody@acme.dk").code == 4


def test_reading_never_creates_consent_and_withdrawal_denies_the_next_read(vault, cli_env, capsys):
    make_tenant(vault)
    alice = make_user(vault)
    read = [
        "read",
        "--tenant",
        "acme",
        "--subject",
        alice,
        "--purpose",
        "personalisation",
        "--actor",
        "app:softphone",
    ]
    first = run_cli(capsys, *read)
    assert first.code == 3 and "consent" in first.err
    with vault.engine.connect() as conn:
        assert conn.execute(select(consent_records)).first() is None  # use is not consent
    assert run_cli(capsys, *GIVE, "--subject", alice).code == 0
    assert run_cli(capsys, *read).code == 0
    withdraw = [
        "consent",
        "withdraw",
        "--tenant",
        "acme",
        "--subject",
        alice,
        "--purpose",
        "personalisation",
    ]
    assert run_cli(capsys, *withdraw).code == 0
    denied = run_cli(capsys, *read)
    assert denied.code == 3 and "withdr" in denied.err


def test_receipt_of_another_tenants_record_is_not_found(vault, cli_env, capsys):
    make_tenant(vault)
    make_tenant(vault, "globex")
    alice = make_user(vault)
    record = run_cli(capsys, *GIVE, "--subject", alice, "--json").json()
    other = run_cli(
        capsys, "consent", "show", "--tenant", "globex", "--receipt", record["record_id"]
    )
    assert other.code == 4


def test_human_output_shows_state_and_history(vault, cli_env, capsys):
    make_tenant(vault)
    alice = make_user(vault)
    assert run_cli(capsys, *GIVE, "--subject", alice).code == 0
    shown = run_cli(capsys, "consent", "show", "--tenant", "acme", "--subject", alice)
    assert shown.code == 0 and "personalisation" in shown.out and "given" in shown.out
    assert run_cli(capsys, "consent", "show", "--tenant", "acme").code == 2


def test_only_the_subject_gives_consent_and_a_tenant_admin_may_withdraw(vault, cli_env, capsys):
    """Finding 2: consent is the subject's own act (Art. 4(11), 7); withdrawal may be relayed."""
    make_tenant(vault)
    alice = make_user(vault)
    subject = ["--subject", "alice@acme.dk"]
    for actor in ("tenant-admin:hr-manager", "operator", "service:crm"):
        refused = run_cli(capsys, *GIVE, *subject, "--actor", actor)
        assert refused.code == 3, actor
        assert "consent can only be given by the data subject" in refused.err
    with vault.engine.connect() as conn:
        assert conn.execute(select(consent_records)).first() is None
    own = run_cli(capsys, *GIVE, *subject, "--actor", f"subject:{alice}", "--json")
    assert own.code == 0 and own.json()["actor"] == f"subject:{alice}"
    withdraw = ["consent", "withdraw", "--tenant", "acme", *subject, "--purpose", "personalisation"]
    assert run_cli(capsys, *withdraw, "--actor", "operator").code == 3
    relayed = run_cli(capsys, *withdraw, "--actor", "tenant-admin:hr-manager", "--json")
    assert relayed.code == 0 and relayed.json()["state"] == "withdrawn"
    assert relayed.json()["events"][-1]["actor"] == "tenant-admin:hr-manager"  # who withdrew


def test_show_and_receipt_are_audited(vault, cli_env, capsys):
    """Issue 12.4: `consent show` read a subject's consent records without an audit entry."""
    make_tenant(vault)
    alice = make_user(vault)
    record = run_cli(capsys, *GIVE, "--subject", alice, "--json").json()
    show = ["consent", "show", "--tenant", "acme"]
    shown = run_cli(capsys, *show, "--subject", "alice@acme.dk", "--actor", "tenant-admin:hr")
    assert shown.code == 0, shown.err
    receipt = run_cli(capsys, *show, "--receipt", record["record_id"])
    assert receipt.code == 0, receipt.err
    with vault.engine.connect() as conn:
        showings = list(entries(conn, "acme", action="consent.show"))
    assert sorted(e["actor"] for e in showings) == ["operator", "tenant-admin:hr"]
    assert {e["subject_id"] for e in showings} == {alice}
    assert "alice@acme.dk" not in str(showings)
    by_mail = run_cli(capsys, *show, "--subject", alice, "--actor", "carol@acme.dk")
    assert by_mail.code == 5
