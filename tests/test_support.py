"""Support sessions: opened only under an agreement in force, time-boxed, key destroyed on close."""

from sqlalchemy import select

from callvault.crypto.primitives import encode_key, new_key
from callvault.crypto.rotation import rotate_master_key
from callvault.processing.reads import read_subject
from callvault.processing.support import open_session
from callvault.store.schema.support import support_sessions
from clihelp import run_cli
from factories import make_call, make_external, make_tenant, make_user

OPEN = ["support", "open", "--tenant", "acme", "--ticket", "T-1", "--engineer", "eve"]


def test_open_and_close(vault, cli_env, capsys):
    make_tenant(vault)
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
    assert row.wrapped_key is None and row.closed_at is not None


def test_open_needs_an_agreement_in_force(vault, cli_env, capsys):
    make_tenant(vault, agreement=None)
    make_tenant(vault, "old", agreement=("SSA-0", "2020-01-01", "2021-01-01"))
    refused = run_cli(capsys, *OPEN, "--hours", "2")
    assert refused.code == 3 and "agreement" in refused.err
    old = ["support", "open", "--tenant", "old", "--ticket", "T", "--engineer", "e", "--hours", "1"]
    assert run_cli(capsys, *old).code == 3
    with vault.engine.connect() as conn:
        assert conn.execute(select(support_sessions)).all() == []


def test_bad_hours_and_unknown_session(vault, cli_env, capsys):
    make_tenant(vault)
    assert run_cli(capsys, *OPEN, "--hours", "0").code == 5
    assert run_cli(capsys, *OPEN, "--hours", "1000").code == 5
    assert run_cli(capsys, "support", "close", "--tenant", "acme", "--session", "nope").code == 4


def test_open_session_survives_master_key_rotation(vault, cli_env, capsys):
    make_tenant(vault)
    alice = make_user(vault)
    make_call(vault, caller_id=make_external(vault), callee_id=alice)
    open_session(vault, "acme", ticket="T-1", engineer="eve", hours=1)
    before = read_subject(vault, "acme", alice, "error_diagnosis", "support:eve", ticket="T-1")
    rotate_master_key(vault, new_key_text=encode_key(new_key()))
    after = read_subject(vault, "acme", alice, "error_diagnosis", "support:eve", ticket="T-1")
    assert after["calls"] == before["calls"]
