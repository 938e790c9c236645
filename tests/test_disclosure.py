"""The disclosure gate: the subject and its controller only, each bound to the actor; third parties
refused, no file; other people shown the way reads show them."""

import json
import stat

import pytest

from callvault.accountability.audit import entries
from callvault.processing.gate import NO_THIRD_PARTIES
from callvault.rights.restriction import restrict
from clihelp import run_cli
from factories import make_call, make_external, make_tenant, make_user

CALLER = "+4540404040"
BOB = "+4522334466"


@pytest.fixture
def acme(vault):
    make_tenant(vault)
    alice = make_user(vault)
    bob = make_user(vault, name="Bob Berg", email="bob@acme.dk", phone=BOB, extension="202")
    make_call(vault, caller_id=make_external(vault, phone=CALLER), callee_id=alice)
    make_call(
        vault, caller_id=alice, callee_id=bob, direction="internal",
        started_at="2026-11-02T10:00:00+00:00",
    )  # fmt: skip
    return alice


def _disclose(capsys, to, out, actor=None):
    actor_args = ["--actor", actor] if actor else []
    return run_cli(
        capsys,
        "disclose",
        "--tenant",
        "acme",
        "--subject",
        "alice@acme.dk",
        "--to",
        to,
        "--out",
        str(out),
        *actor_args,
    )


def _actor_for(recipient, subject_id):
    return f"subject:{subject_id}" if recipient == "subject" else "tenant-admin:hr"


@pytest.mark.parametrize("recipient", ["subject", "controller"])
def test_export_to_allowed_recipient(vault, acme, cli_env, capsys, recipient):
    out = cli_env / "alice.json"
    result = _disclose(capsys, recipient, out, _actor_for(recipient, acme))
    assert result.code == 0, result.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    document = json.loads(out.read_text())
    assert document["subject"] == acme and document["recipient"] == recipient
    assert document["profile"]["email"] == ["alice@acme.dk"]


@pytest.mark.parametrize("recipient", ["subject", "controller"])
def test_other_parties_appear_as_reads_show_them(vault, acme, cli_env, capsys, recipient):
    """Issue 12.1: the export held the other parties' numbers (Art. 15(4))."""
    out = cli_env / "alice.json"
    assert _disclose(capsys, recipient, out, _actor_for(recipient, acme)).code == 0
    text = out.read_text()
    assert CALLER not in text and BOB not in text
    parties = sorted(call["other_party"] for call in json.loads(text)["calls"])
    assert parties[0] == "Bob Berg" and parties[1].startswith("contact-")


@pytest.mark.parametrize(
    ("recipient", "actor"),
    [
        ("subject", "service:app"),
        ("subject", "operator"),
        ("subject", "tenant-admin:hr"),
        ("subject", "subject:someone-else"),
        ("controller", "service:app"),
        ("controller", "operator"),
        ("controller", "SUBJECT"),
    ],
)
def test_recipient_is_bound_to_the_actor(vault, acme, cli_env, capsys, recipient, actor):
    """Issue 12.1: `--to subject --actor service:app` exported everything."""
    actor = f"subject:{acme}" if actor == "SUBJECT" else actor
    out = cli_env / "leak.json"
    result = _disclose(capsys, recipient, out, actor)
    assert result.code == 3, result.err
    assert "not bound to the actor" in result.err
    assert not out.exists() and list(cli_env.iterdir()) == []
    with vault.engine.connect() as conn:
        (entry,) = entries(conn, "acme", action="disclose")
    assert entry["outcome"] == "deny" and entry["actor"] == actor
    assert entry["details"]["recipient"] == recipient
    assert entry["details"]["rule"] == f"recipients.{recipient}.not_bound"


def test_restriction_keeps_the_controller_out_not_the_subject(vault, acme, cli_env, capsys):
    restrict(vault, "acme", acme, actor=f"subject:{acme}")
    refused = _disclose(capsys, "controller", cli_env / "c.json", "tenant-admin:hr")
    assert refused.code == 3 and "Art. 18(2)" in refused.err
    assert not (cli_env / "c.json").exists()
    own = _disclose(capsys, "subject", cli_env / "s.json", f"subject:{acme}")
    assert own.code == 0, own.err  # Art. 15: the subject's own access is not restricted


def test_third_party_is_refused_without_a_file(vault, acme, cli_env, capsys):
    out = cli_env / "leak.json"
    result = _disclose(capsys, "third_party:acme-marketing", out, "tenant-admin:hr")
    assert result.code == 3
    assert NO_THIRD_PARTIES in result.err
    assert not out.exists() and list(cli_env.iterdir()) == []
    with vault.engine.connect() as conn:
        (entry,) = entries(conn, "acme", action="disclose")
    # Recorded by kind only: a refused recipient may be a person's address (finding 3).
    assert entry["outcome"] == "deny" and entry["details"]["recipient"] == "third_party"


def test_another_tenants_controller_is_a_third_party(vault, acme, cli_env, capsys):
    assert _disclose(capsys, "controller:globex", cli_env / "x.json", "tenant-admin:hr").code == 3
    assert not (cli_env / "x.json").exists()


def test_out_must_be_a_new_file(vault, acme, cli_env, capsys):
    """Finding 7: a directory or an existing file is refused with exit 5 naming --out."""
    directory = _disclose(capsys, "subject", cli_env)
    assert directory.code == 5 and "--out" in directory.err and "directory" in directory.err
    existing = cli_env / "old.json"
    existing.write_text("keep me")
    again = _disclose(capsys, "subject", existing)
    assert again.code == 5 and "--out" in again.err and "exists" in again.err
    assert existing.read_text() == "keep me"
    with vault.engine.connect() as conn:
        assert list(entries(conn, "acme", action="disclose")) == []
