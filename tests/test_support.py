"""Support sessions: opened only under an agreement in force, time-boxed, key destroyed on close."""

from sqlalchemy import select

from callvault.accountability.audit import entries
from callvault.crypto.primitives import encode_key, new_key
from callvault.crypto.rotation import rotate_master_key
from callvault.processing.reads import read_subject
from callvault.processing.support import open_session
from callvault.store.schema.support import support_sessions
from clihelp import run_cli
from factories import make_call, make_external, make_tenant, make_user

OPEN = ["support", "open", "--tenant", "acme", "--ticket", "T-1", "--engineer", "eve",
        "--approved-by", "tenant-admin:hr", "--subject", "alice@acme.dk"]  # fmt: skip


def test_open_and_close(vault, cli_env, capsys):
    make_tenant(vault)
    make_user(vault)
    opened = run_cli(capsys, *OPEN, "--hours", "2", "--json")
    assert opened.code == 0, opened.err
    session = opened.json()
    assert session["ticket"] == "T-1" and session["closed_at"] is None
    closed = run_cli(
        capsys, "support", "close", "--tenant", "acme", "--session", session["session"]
    )
    assert closed.code == 0, closed.err
    with vault.engine.connect() as conn:
        row = conn.execute(select(support_sessions)).one()
    assert row.closed_at is not None
    # the session's key is gone from the key store: no backup can bring its tokens back
    assert vault.keyring.keystore.wrapped("acme", f"session:{session['session']}") is None


def test_open_needs_an_agreement_in_force(vault, cli_env, capsys):
    make_tenant(vault, agreement=None)
    make_tenant(vault, "old", agreement=("SSA-0", "2020-01-01", "2021-01-01"))
    make_user(vault)
    make_user(vault, "old", email="bob@old.dk")
    refused = run_cli(capsys, *OPEN, "--hours", "2")
    assert refused.code == 3 and "agreement" in refused.err
    old = ["support", "open", "--tenant", "old", "--ticket", "T", "--engineer", "e", "--hours", "1",
           "--approved-by", "tenant-admin:hr", "--subject", "bob@old.dk"]  # fmt: skip
    assert run_cli(capsys, *old).code == 3
    with vault.engine.connect() as conn:
        assert conn.execute(select(support_sessions)).all() == []


def test_bad_hours_and_unknown_session(vault, cli_env, capsys):
    make_tenant(vault)
    make_user(vault)
    assert run_cli(capsys, *OPEN, "--hours", "0").code == 5
    assert run_cli(capsys, *OPEN, "--hours", "1000").code == 5
    assert run_cli(capsys, "support", "close", "--tenant", "acme", "--session", "nope").code == 4


def test_open_session_survives_master_key_rotation(vault, cli_env, capsys):
    make_tenant(vault)
    alice = make_user(vault)
    make_call(vault, caller_id=make_external(vault), callee_id=alice)
    open_session(
        vault, "acme", ticket="T-1", engineer="eve", hours=1, approved_by="tenant-admin:hr",
        subjects=[alice],
    )  # fmt: skip
    before = read_subject(vault, "acme", alice, "error_diagnosis", "support:eve", ticket="T-1")
    rotate_master_key(vault, new_key_text=encode_key(new_key()))
    after = read_subject(vault, "acme", alice, "error_diagnosis", "support:eve", ticket="T-1")
    assert after["calls"] == before["calls"]


def _bob(vault):
    return make_user(vault, name="Bob Berg", email="bob@acme.dk", phone="+4522334466",
                     extension="202")  # fmt: skip


def test_a_session_is_opened_only_on_a_tenant_admins_instruction(vault, cli_env, capsys):
    """Issue 12.7: the engineer opened a session for themself."""
    make_tenant(vault)
    make_user(vault)
    base = OPEN[: OPEN.index("--approved-by")]
    missing = run_cli(capsys, *base, "--subject", "alice@acme.dk", "--hours", "1")
    assert missing.code == 2 and "--approved-by" in missing.err
    for approver in ("support:eve", "operator", "tenant-admin", "service:crm"):
        args = [*base, "--approved-by", approver, "--subject", "alice@acme.dk", "--hours", "1"]
        refused = run_cli(capsys, *args)
        assert refused.code == 3 and "tenant admin" in refused.err, approver
    with vault.engine.connect() as conn:
        assert conn.execute(select(support_sessions)).all() == []
        denials = list(entries(conn, "acme", action="support.open"))
    assert [e["outcome"] for e in denials] == ["deny"] * 4
    assert {e["details"]["approved_by"] for e in denials} == {
        "support:eve", "operator", "tenant-admin", "service:crm"
    }  # fmt: skip
    opened = run_cli(capsys, *OPEN, "--hours", "1", "--json")
    assert opened.code == 0, opened.err
    assert opened.json()["approved_by"] == "tenant-admin:hr"
    with vault.engine.connect() as conn:
        allowed = [e for e in entries(conn, "acme", action="support.open") if e["outcome"] == "ok"]
    assert allowed[0]["details"]["approved_by"] == "tenant-admin:hr"


def test_a_session_reads_only_the_subjects_of_its_ticket(vault, cli_env, capsys):
    """Issue 12.7: a session covered every subject of the tenant."""
    make_tenant(vault)
    alice = make_user(vault)
    bob = _bob(vault)
    carol = make_user(vault, name="Carol", email="carol@acme.dk", phone="+4522334477",
                      extension="203")  # fmt: skip
    for n, user in enumerate((alice, bob, carol)):
        make_call(vault, caller_id=make_external(vault, phone=f"+454040404{n}"), callee_id=user)
    args = [*OPEN, "--subject", "bob@acme.dk", "--hours", "1", "--json"]
    session = run_cli(capsys, *args).json()
    assert session["subjects"] == sorted([alice, bob])
    read = ["read", "--tenant", "acme", "--purpose", "error_diagnosis", "--actor", "support:eve",
            "--ticket", "T-1", "--json", "--subject"]  # fmt: skip
    for named in ("alice@acme.dk", bob):
        ok = run_cli(capsys, *read, named)
        assert ok.code == 0, ok.err
        assert len(ok.json()["calls"]) == 1
    other = run_cli(capsys, *read, "carol@acme.dk")
    assert other.code == 3 and "not in support session" in other.err
    assert other.out == "" and "Carol" not in other.err
    with vault.engine.connect() as conn:
        reads = list(entries(conn, "acme", action="read"))
    (denied,) = [e for e in reads if e["outcome"] == "deny"]
    assert len(reads) == 3 and denied["subject_id"] == carol
    assert denied["details"]["rule"] == "session.other_subject"


def test_the_subjects_of_a_session_must_be_the_tenants(vault, cli_env, capsys):
    make_tenant(vault)
    make_tenant(vault, "globex")
    make_user(vault)
    stranger = make_user(vault, "globex", email="gina@globex.dk", phone="+4522334488")
    base = OPEN[: OPEN.index("--subject")]
    result = run_cli(capsys, *base, "--subject", stranger, "--hours", "1")
    assert result.code == 4
    with vault.engine.connect() as conn:
        assert conn.execute(select(support_sessions)).all() == []
